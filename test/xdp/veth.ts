/**
 * santa_xdp attached for real: a client and a server namespace joined by a veth pair, the
 * program on the server end (native or generic mode), entries installed through the sidecar's
 * codecs, queries sent by dig from the client. Nothing listens on port 53 in the server
 * namespace, so a query the program passes is refused by the kernel: an answer can only have
 * come from XDP.
 *
 * In native mode XDP_TX on veth needs an XDP program on the peer; a second instance of santa_xdp
 * with mode off (XDP_PASS for everything) serves as that.
 */
import { createTopology, Topology } from '../support/netns';
import { XdpMode } from '../../sidecar/bpf/native';
import { EntrySpec, SantaUnderTest } from './harness';

export interface VethSanta {
  topo: Topology;
  santa: SantaUnderTest;
  mode: XdpMode;
  close(): Promise<void>;
}

export async function startVethSanta(mode: 'native' | 'generic'): Promise<VethSanta> {
  const topo = await createTopology();
  const opened: SantaUnderTest[] = [];
  const close = async () => {
    // Deleting the namespaces detaches the programs; the objects are closed after.
    try {
      await topo.destroy();
    } finally {
      for (const s of opened) s.close();
    }
  };
  try {
    const santa = SantaUnderTest.load();
    opened.push(santa);
    santa.bpf.attachXdp(santa.progFd, topo.server.ifname, mode, topo.server.nsPath);
    if (mode === 'native') {
      const peer = SantaUnderTest.load();
      opened.push(peer);
      peer.settings({ mode: 'off' });
      peer.bpf.attachXdp(peer.progFd, topo.client.ifname, 'native', topo.client.nsPath);
    }
    return { topo, santa, mode, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface DigResult {
  /** dig's exit status: 0 answered, 9 no reply, 1 usage, 10 internal... */
  code: number;
  /** +short lines (TXT strings come quoted). */
  lines: string[];
  output: string;
}

/** One UDP query from the client: EDNS without options (+nocookie) unless `edns` is false. */
export async function dig(
  v: VethSanta,
  name: string,
  type: string,
  opts: { edns?: boolean; v6?: boolean } = {},
): Promise<DigResult> {
  const server = opts.v6 ? v.topo.server.v6 : v.topo.server.v4;
  const ednsArgs = opts.edns === false ? ['+noedns'] : ['+nocookie', '+bufsize=1232'];
  const r = await v.topo.exec(
    v.topo.client,
    ['dig', `@${server}`, name, type, '+norec', '+tries=1', '+time=2', '+short', '+ignore', ...ednsArgs],
    { allowFailure: true, timeoutMs: 10_000 },
  );
  return { code: r.code, lines: r.stdout.split('\n').filter((l) => l.trim() !== ''), output: r.stdout + r.stderr };
}

/** TXT strings whose RDATA makes `entry` produce a DNS reply of exactly `replySize` bytes. */
export function txtEntryOfReplySize(name: string, replySize: number, slot: number): EntrySpec & { strings: string[] } {
  const wireName = name.replace(/\.$/, '').length + 2;
  // header + question + owner + type/class/ttl/rdlen + rdata + OPT (dns-packet does not compress)
  let rdata = replySize - (12 + wireName + 4) - (wireName + 10) - 11;
  if (rdata < 1) throw new RangeError(`a reply of ${replySize} bytes is too small for ${name}`);
  const strings: string[] = [];
  while (rdata > 0) {
    const len = Math.min(255, rdata - 1);
    strings.push('t'.repeat(len));
    rdata -= len + 1;
  }
  return {
    name,
    type: 'TXT',
    edns: true,
    slot,
    strings,
    answers: [{ name, type: 'TXT', ttl: 60, data: strings }] as EntrySpec['answers'],
  };
}

/**
 * The benchmark's test bed: a client and a server namespace joined by veth, BIND 9 pinned to the
 * server CPU, santa_xdp on the server veth in native mode, and the veth's receive path moved to a
 * threaded NAPI worker pinned to the server CPU too, so that everything the server does runs on
 * one CPU and the load generator has the other to itself.
 *
 * The three arms swap only the XDP program (or its mode), never the receive path:
 *   bind     santa_xdp in mode off: every packet passes to BIND (same NAPI thread, same CPU)
 *   santa    santa_xdp in mode on with the hit entries installed
 *   minimal  xdp/build/minimal.bpf.o, which swaps addresses and transmits without any lookup
 *
 * close() undoes everything in reverse order and is safe to call twice; it is also what runs on
 * SIGINT/SIGTERM (see main.ts). Deleting the namespaces removes the veth pair with every XDP
 * program on it, including the one kxdpgun leaves behind.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as dnsPacket from 'dns-packet';
import { createTopology, Topology } from '../../support/netns';
import { BindServer, startBind } from '../../support/bind';
import { run, sleep } from '../../support/process';
import { SantaUnderTest } from '../../xdp/harness';
import { LoadedObject } from '../../../sidecar/bpf/native';
import { REPO } from '../../bpf/setup';

export const MINIMAL_OBJ = join(REPO, 'xdp', 'build', 'minimal.bpf.o');
export const ZONE = 'bench.test';
export type Arm = 'bind' | 'santa' | 'minimal';

export interface TestbedOptions {
  /** Names answered from XDP in the santa arm and names only BIND answers (both in the zone). */
  hitNames: number;
  missNames: number;
  serverCpu: number;
  clientCpu: number;
}

export interface Testbed {
  readonly topo: Topology;
  readonly bind: BindServer;
  readonly santa: SantaUnderTest;
  readonly opts: TestbedOptions;
  readonly hitNames: string[];
  readonly missNames: string[];
  /** PIDs of the server veth's NAPI threads (pinned to the server CPU). */
  readonly napiPids: number[];
  arm(a: Arm): void;
  /** The fd of the XDP program currently on the server veth (for bpf_stats). */
  armProgFd(): number;
  /** The XDP_PASS program the client veth needs for native XDP_TX replies to arrive (dnsperf). */
  attachClientPeer(): Promise<void>;
  /** Frees the client veth for kxdpgun, which attaches an AF_XDP program of its own. */
  freeClientVeth(): Promise<void>;
  querylog(on: boolean): Promise<void>;
  close(): Promise<void>;
}

export function hitName(i: number): string {
  return `hit${i}.${ZONE}`;
}
export function missName(i: number): string {
  return `miss${i}.${ZONE}`;
}
function addressOf(i: number, base: number): string {
  return `192.0.${base}.${(i % 250) + 1}`;
}

export function benchZone(opts: TestbedOptions): string {
  const lines = [
    '$TTL 300',
    `@ SOA ns1.${ZONE}. hostmaster.${ZONE}. 1 7200 900 1209600 300`,
    '@ NS ns1',
    'ns1 A 192.0.2.53',
  ];
  for (let i = 0; i < opts.hitNames; i++) lines.push(`hit${i} A ${addressOf(i, 2)}`);
  for (let i = 0; i < opts.missNames; i++) lines.push(`miss${i} A ${addressOf(i, 3)}`);
  return lines.join('\n') + '\n';
}

export async function startTestbed(opts: TestbedOptions, register: (close: () => Promise<void>) => void): Promise<Testbed> {
  const undo: Array<() => Promise<void> | void> = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const errors: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new Error(`testbed cleanup:\n${errors.join('\n')}`);
  };
  register(close);
  try {
    const topo = await createTopology();
    undo.push(() => topo.destroy());
    const bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      zones: [{ name: ZONE, text: benchZone(opts) }],
      queryLog: true,
      workers: 1,
      // Santa's replies carry only the answer; BIND's must be the same size for a fair race.
      extraOptions: 'minimal-responses yes;',
    });
    undo.push(() => bind.stop());
    await run(['taskset', '-a', '-p', '-c', String(opts.serverCpu), String(bind.pid)]);

    const santa = SantaUnderTest.load();
    undo.push(() => santa.close());
    const peer = SantaUnderTest.load();
    undo.push(() => peer.close());
    peer.settings({ mode: 'off' });
    const minimal = santa.bpf.loadObject(MINIMAL_OBJ);
    undo.push(() => santa.bpf.closeObject(minimal.id));
    const minimalFd = minimalProg(minimal);

    santa.settings({ mode: 'off' });
    santa.bpf.attachXdp(santa.progFd, topo.server.ifname, 'native', topo.server.nsPath);
    const hitNames = Array.from({ length: opts.hitNames }, (_, i) => hitName(i));
    const missNames = Array.from({ length: opts.missNames }, (_, i) => missName(i));
    installHits(santa, hitNames);

    // The minimal responder swaps addresses without touching the UDP checksum, which is valid
    // only when the client computed it in full (veth otherwise hands over the pseudo-header seed).
    // Off for every arm, so the client's cost is the same in all of them.
    await topo.exec(topo.client, ['ethtool', '-K', topo.client.ifname, 'tx-checksum-ip-generic', 'off']);
    const napiPids = await threadedNapi(topo, opts.serverCpu);
    // Threaded NAPI outlives the program on a veth that stays; this one is deleted with its
    // namespace, but switch it off first so a failure in between leaves nothing threaded.
    undo.push(() => setThreaded(topo, false));

    let current: Arm = 'bind';
    let clientPeerAttached = false;
    const tb: Testbed = {
      topo,
      bind,
      santa,
      opts,
      hitNames,
      missNames,
      napiPids,
      arm(a) {
        if (a === 'minimal') {
          if (current !== 'minimal') santa.bpf.attachXdp(minimalFd, topo.server.ifname, 'native', topo.server.nsPath, { replace: true });
        } else {
          if (current === 'minimal') santa.bpf.attachXdp(santa.progFd, topo.server.ifname, 'native', topo.server.nsPath, { replace: true });
          santa.settings({ mode: a === 'santa' ? 'on' : 'off' });
        }
        current = a;
      },
      armProgFd: () => (current === 'minimal' ? minimalFd : santa.progFd),
      async attachClientPeer() {
        if (clientPeerAttached) return;
        await run(['ip', '-n', topo.client.ns, 'link', 'set', 'dev', topo.client.ifname, 'xdp', 'off']);
        peer.bpf.attachXdp(peer.progFd, topo.client.ifname, 'native', topo.client.nsPath);
        clientPeerAttached = true;
      },
      async freeClientVeth() {
        await run(['ip', '-n', topo.client.ns, 'link', 'set', 'dev', topo.client.ifname, 'xdp', 'off']);
        clientPeerAttached = false;
      },
      async querylog(on) {
        await bind.rndc('querylog', on ? 'on' : 'off');
      },
      close,
    };
    await tb.attachClientPeer();
    return tb;
  } catch (e) {
    await close().catch((c) => console.error(c));
    throw e;
  }
}

function minimalProg(obj: LoadedObject): number {
  const fd = obj.progs.minimal_xdp;
  if (fd === undefined) throw new Error(`${MINIMAL_OBJ}: no program minimal_xdp (found ${Object.keys(obj.progs).join(', ') || 'none'})`);
  return fd;
}

/** Longer than any run: an entry that expires mid-run would turn hits into misses unnoticed. */
const LEASE_MS = 24 * 3600 * 1000;

/**
 * One entry per hit name and per flag combination the generators send (dnsperf: RD, no EDNS
 * unless -e; kxdpgun: no RD, EDNS on request), each its own hit slot.
 */
function installHits(santa: SantaUnderTest, names: readonly string[]): void {
  let slot = 1;
  for (const [i, name] of names.entries()) {
    const answers: dnsPacket.Answer[] = [{ name, type: 'A', ttl: 300, data: addressOf(i, 2) }];
    for (const rd of [false, true]) for (const edns of [false, true]) santa.install({ name, slot: slot++, rd, edns, answers, leaseMs: LEASE_MS });
  }
}

async function setThreaded(topo: Topology, on: boolean): Promise<void> {
  // `ip netns exec` remounts /sys for the namespace, which is what makes its devices visible.
  await run(['ip', 'netns', 'exec', topo.server.ns, 'sh', '-c', `echo ${on ? 1 : 0} > /sys/class/net/${topo.server.ifname}/threaded`]);
}

function napiThreads(ifname: string): Set<number> {
  const found = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim().startsWith(`napi/${ifname}-`)) found.add(Number(entry));
    } catch {
      /* exited */
    }
  }
  return found;
}

/**
 * Other runs on this host may use the same interface name in their own namespaces, so the
 * threads this veth gets are told apart as the ones that appear when it switches to threaded.
 */
async function threadedNapi(topo: Topology, cpu: number): Promise<number[]> {
  const before = napiThreads(topo.server.ifname);
  await setThreaded(topo, true);
  let mine: number[] = [];
  for (let i = 0; i < 50 && mine.length === 0; i++) {
    mine = [...napiThreads(topo.server.ifname)].filter((p) => !before.has(p));
    if (mine.length === 0) await sleep(20);
  }
  if (mine.length === 0) throw new Error(`no napi/${topo.server.ifname}-* thread appeared after enabling threaded NAPI`);
  for (const pid of mine) await run(['taskset', '-p', '-c', String(cpu), String(pid)]);
  return mine;
}

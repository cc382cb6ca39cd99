/**
 * XDP attachment through the binding, on a veth pair between two namespaces this suite creates
 * and removes: attach in native and generic mode from outside the namespace, see real packets
 * run the program, refuse to clobber an attached program, replace, detach, and always come back
 * to the caller's own network namespace.
 */
import { requireRoot } from '../support/require-root';
import { createTopology, Topology, xdpInfo } from '../support/netns';
import { LoadedObject, loadNative, SantaNative, XdpMode } from '../../sidecar/bpf/native';
import { buildNativeAndFixtures, codeOf, FIXTURE_OBJ, ownNetns, readU64, u32Key } from './setup';

let bpf: SantaNative;
let topo: Topology | undefined;
let obj: LoadedObject | undefined;

function packetsSeen(): bigint {
  const v = bpf.lookup(obj!.maps.fx_percpu, u32Key(0))!;
  let total = 0n;
  for (let off = 0; off < v.length; off += 8) total += readU64(v, off);
  return total;
}

beforeAll(async () => {
  requireRoot('XDP attach tests');
  buildNativeAndFixtures();
  bpf = loadNative();
  obj = bpf.loadObject(FIXTURE_OBJ);
  topo = await createTopology();
});

afterAll(async () => {
  try {
    if (obj) bpf.closeObject(obj.id);
  } finally {
    await topo?.destroy();
  }
});

describe.each<XdpMode>(['generic', 'native'])('%s mode', (mode) => {
  it('attaches inside a namespace, runs on real packets, and detaches', async () => {
    const s = topo!.server;
    const home = ownNetns();
    expect(bpf.queryXdp(s.ifname, s.nsPath)).toBeNull();

    bpf.attachXdp(obj!.progs.fx_xdp, s.ifname, mode, s.nsPath);
    expect(ownNetns()).toBe(home);
    const progId = bpf.progInfo(obj!.progs.fx_xdp).id;
    expect(bpf.queryXdp(s.ifname, s.nsPath)).toMatchObject({ progId, mode });
    expect(await xdpInfo(s.ns, s.ifname)).toMatch(new RegExp(`id ${progId}\\b`));

    // Datagrams from the client arrive on the server veth and pass through the program.
    const before = packetsSeen();
    await topo!.exec(topo!.client, ['bash', '-c', `for i in 1 2 3 4 5; do echo santa > /dev/udp/${s.v4}/9; done`]);
    const deadline = Date.now() + 5_000;
    while (packetsSeen() - before < 5n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(packetsSeen() - before).toBeGreaterThanOrEqual(5n);

    bpf.detachXdp(s.ifname, mode, s.nsPath);
    expect(bpf.queryXdp(s.ifname, s.nsPath)).toBeNull();
    expect(ownNetns()).toBe(home);
  });

  it('refuses to replace an attached program unless asked to', () => {
    const s = topo!.server;
    bpf.attachXdp(obj!.progs.fx_xdp, s.ifname, mode, s.nsPath);
    try {
      expect(codeOf(() => bpf.attachXdp(obj!.progs.fx_pass, s.ifname, mode, s.nsPath))).toMatch(
        new RegExp(`^EBUSY: attachXdp: program fd \\d+ on ${s.ifname} in netns ${s.nsPath}`),
      );
      expect(bpf.queryXdp(s.ifname, s.nsPath)!.progId).toBe(bpf.progInfo(obj!.progs.fx_xdp).id);
      bpf.attachXdp(obj!.progs.fx_pass, s.ifname, mode, s.nsPath, { replace: true });
      expect(bpf.queryXdp(s.ifname, s.nsPath)!.progId).toBe(bpf.progInfo(obj!.progs.fx_pass).id);
    } finally {
      bpf.detachXdp(s.ifname, mode, s.nsPath);
    }
  });

  it('replaces and detaches only the expected program when told which', () => {
    const s = topo!.server;
    const { fx_xdp: mine, fx_pass: theirs } = obj!.progs;
    bpf.attachXdp(theirs, s.ifname, mode, s.nsPath);
    try {
      expect(codeOf(() => bpf.attachXdp(mine, s.ifname, mode, s.nsPath, { expectedProgFd: mine }))).toMatch(
        /^EEXIST: .*the attached program is not the expected one/,
      );
      expect(codeOf(() => bpf.detachXdp(s.ifname, mode, s.nsPath, { expectedProgFd: mine }))).toMatch(/^EEXIST: detachXdp/);
      expect(bpf.queryXdp(s.ifname, s.nsPath)!.progId).toBe(bpf.progInfo(theirs).id);
      bpf.attachXdp(mine, s.ifname, mode, s.nsPath, { expectedProgFd: theirs });
      expect(bpf.queryXdp(s.ifname, s.nsPath)!.progId).toBe(bpf.progInfo(mine).id);
      bpf.detachXdp(s.ifname, mode, s.nsPath, { expectedProgFd: mine });
      expect(bpf.queryXdp(s.ifname, s.nsPath)).toBeNull();
    } finally {
      if (bpf.queryXdp(s.ifname, s.nsPath)) bpf.detachXdp(s.ifname, mode, s.nsPath);
    }
  });
});

describe('errors', () => {
  it('name the interface and namespace, and leave this thread in its own namespace', () => {
    const home = ownNetns();
    const s = topo!.server;
    // The server veth exists only inside its namespace.
    expect(codeOf(() => bpf.attachXdp(obj!.progs.fx_xdp, s.ifname, 'generic'))).toMatch(new RegExp(`^ENODEV: attachXdp: interface ${s.ifname}:`));
    expect(codeOf(() => bpf.queryXdp('santa-none', s.nsPath))).toMatch(new RegExp(`^ENODEV: queryXdp: interface santa-none in netns ${s.nsPath}`));
    expect(ownNetns()).toBe(home);
    expect(codeOf(() => bpf.detachXdp(s.ifname, 'generic', '/run/netns/santa-no-such-ns'))).toMatch(
      /^ENOENT: detachXdp: open network namespace \/run\/netns\/santa-no-such-ns/,
    );
    expect(() => bpf.attachXdp(obj!.progs.fx_xdp, s.ifname, 'sideways' as XdpMode, s.nsPath)).toThrow(/mode must be 'native', 'generic' or 'offload'/);
    // A map fd is not a program.
    expect(codeOf(() => bpf.attachXdp(obj!.maps.fx_hash, s.ifname, 'generic', s.nsPath))).toMatch(/^EINVAL: attachXdp/);
    expect(ownNetns()).toBe(home);
    expect(bpf.queryXdp(s.ifname, s.nsPath)).toBeNull();
  });
});

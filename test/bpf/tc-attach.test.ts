/**
 * tc ingress attachment through the binding, on the loopback device of a namespace this suite
 * creates: Santa's loopback guard (santa_lo_guard) in its own filter slot, seen by a query,
 * run on a real UPDATE sent over the namespace's loopback, never clobbering the slot unless
 * asked, detached again, and the caller always back in its own network namespace.
 */
import { santaAbi } from '../../sidecar/bpf/abi';
import type { TcSlot } from '../../sidecar/bpf/native';
import { codeOf, ownNetns } from './setup';
import { createTopology, type Topology } from '../support/netns';
import { requireRoot } from '../support/require-root';
import { updateMessage } from '../support/zone-messages';
import { waitFor } from '../support/process';
import { SantaUnderTest } from '../xdp/harness';

let santa: SantaUnderTest;
let topo: Topology | undefined;
let slot: TcSlot;
let guardFd: number;

beforeAll(async () => {
  requireRoot('tc attach tests');
  santa = SantaUnderTest.load();
  const abi = santaAbi();
  slot = { handle: abi.loopbackGuard.tcHandle, priority: abi.loopbackGuard.tcPriority };
  guardFd = santa.obj.progs[abi.loopbackGuard.progName];
  topo = await createTopology();
}, 60_000);

afterAll(async () => {
  try {
    santa?.close();
  } finally {
    await topo?.destroy();
  }
});

describe('tc ingress on lo', () => {
  it('attaches in a namespace, sees an UPDATE sent over its loopback, and detaches', async () => {
    const ns = topo!.server.nsPath;
    const home = ownNetns();
    expect(santa.bpf.queryTcIngress('lo', ns, slot)).toBe(0); // no clsact hook yet
    santa.bpf.attachTcIngress(guardFd, 'lo', ns, slot);
    expect(ownNetns()).toBe(home);
    expect(santa.bpf.queryTcIngress('lo', ns, slot)).toBe(santa.bpf.progInfo(guardFd).id);
    // The same slot on the other namespace's lo is still empty.
    expect(santa.bpf.queryTcIngress('lo', topo!.client.nsPath, slot)).toBe(0);

    const zoneSlot = santa.maps.zoneSlot('example.test');
    const before = santa.maps.readZoneGens()[zoneSlot];
    const send = `require('dgram').createSocket('udp4').send(Buffer.from('${updateMessage('example.test').toString('hex')}', 'hex'), 53, '127.0.0.1', (e) => process.exit(e ? 1 : 0))`;
    await topo!.exec(topo!.server, [process.execPath, '-e', send]);
    await waitFor('the guard to bump example.test', async () => santa.maps.readZoneGens()[zoneSlot] === before + 1 || undefined, { timeoutMs: 5_000, intervalMs: 50 });
    expect(santa.maps.readStats().LOOPBACK_ZONE_CHANGES).toBe(1);

    santa.bpf.detachTcIngress('lo', ns, slot);
    expect(ownNetns()).toBe(home);
    expect(santa.bpf.queryTcIngress('lo', ns, slot)).toBe(0);
    await topo!.exec(topo!.server, [process.execPath, '-e', send]);
    expect(santa.maps.readZoneGens()[zoneSlot]).toBe(before + 1);
  });

  it('refuses to take a filled slot unless asked to replace, and says so', () => {
    const ns = topo!.server.nsPath;
    santa.bpf.attachTcIngress(guardFd, 'lo', ns, slot);
    try {
      expect(codeOf(() => santa.bpf.attachTcIngress(guardFd, 'lo', ns, slot))).toMatch(/^EEXIST: .*lo in netns .*slot holds a filter already/);
      santa.bpf.attachTcIngress(guardFd, 'lo', ns, { ...slot, replace: true });
      expect(santa.bpf.queryTcIngress('lo', ns, slot)).toBe(santa.bpf.progInfo(guardFd).id);
      // Another slot on the same hook is another filter.
      const other = { handle: slot.handle + 1, priority: slot.priority };
      santa.bpf.attachTcIngress(guardFd, 'lo', ns, other);
      santa.bpf.detachTcIngress('lo', ns, other);
      expect(santa.bpf.queryTcIngress('lo', ns, slot)).toBe(santa.bpf.progInfo(guardFd).id);
    } finally {
      santa.bpf.detachTcIngress('lo', ns, slot);
    }
  });

  it('errors name the interface, namespace and slot, and leave this thread in its own namespace', () => {
    const home = ownNetns();
    const ns = topo!.server.nsPath;
    expect(codeOf(() => santa.bpf.detachTcIngress('lo', ns, slot))).toMatch(/^ENOENT: detachTcIngress: lo in netns .* \(handle 0x[0-9a-f]+, priority \d+\)/);
    expect(codeOf(() => santa.bpf.attachTcIngress(guardFd, 'nosuch0', ns, slot))).toMatch(/^ENODEV: attachTcIngress: interface nosuch0 in netns /);
    expect(codeOf(() => santa.bpf.queryTcIngress('lo', '/nonexistent/ns', slot))).toMatch(/^ENOENT: queryTcIngress: open network namespace/);
    expect(() => santa.bpf.attachTcIngress(guardFd, 'lo', ns, { handle: 0, priority: 1 })).toThrow(/handle \(non-zero\) and priority \(1\.\.65535\) are required/);
    expect(ownNetns()).toBe(home);
  });
});

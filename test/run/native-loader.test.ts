/**
 * The native loader on a real veth in a namespace: load and pin, adopt after a restart (no
 * second copy), upgrade in place on the same maps (the cache survives), never touch a program that
 * is not Santa's, and detach cleanly; the same for the loopback guard on the namespace's lo.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadNative } from '../../sidecar/bpf/native';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { cacheEntry, keyFlags } from '../../sidecar/bpf/codec';
import { NativeLoader } from '../../sidecar/loader/native/native-loader';
import { santaAbi } from '../../sidecar/bpf/abi';
import type { XdpTarget } from '../../sidecar/loader/loader';
import { createTopology, type Topology } from '../support/netns';
import { requireRoot } from '../support/require-root';
import { buildNativeAndFixtures, FIXTURE_OBJ } from '../bpf/setup';
import * as dnsPacket from 'dns-packet';

const OBJECT = resolve(__dirname, '../../xdp/build/santa.bpf.o');
const MINIMAL = resolve(__dirname, '../../xdp/build/minimal.bpf.o');
const bpf = loadNative();

describe('NativeLoader', () => {
  let topo: Topology;
  let target: XdpTarget;
  let pinDir: string;
  let work: string;
  const loaders: NativeLoader[] = [];
  const make = (objectPath = OBJECT) => {
    const l = new NativeLoader({ objectPath, pinDir, maxEntries: 1024, targets: [target] });
    loaders.push(l);
    return l;
  };
  const attachedId = () => bpf.queryXdp(target.iface, target.netns)?.genericProgId ?? 0;
  const guardSlot = { handle: santaAbi().loopbackGuard.tcHandle, priority: santaAbi().loopbackGuard.tcPriority };
  const guardId = () => bpf.queryTcIngress('lo', target.netns, guardSlot);
  const pins = (prefix: string) => readdirSync(pinDir).filter((n) => n.startsWith(prefix));

  beforeAll(async () => {
    requireRoot('native loader test');
    buildNativeAndFixtures();
    topo = await createTopology();
    target = { iface: topo.server.ifname, xdpMode: 'generic', netns: topo.server.nsPath };
    pinDir = `/sys/fs/bpf/santa-loader-test-${process.pid}`;
    work = mkdtempSync(join(tmpdir(), 'santa-loader-'));
  }, 60_000);

  afterAll(async () => {
    for (const l of loaders) await l.close();
    await topo?.destroy();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('loads, pins and attaches; a restarted loader adopts the running program and its maps', async () => {
    const first = await make().ensure(target);
    expect(first).toMatchObject({ adopted: false, replaced: false, maps: { kind: 'pinned', dir: pinDir } });
    expect(attachedId()).toBe(first.programId);
    expect(readdirSync(pinDir).filter((n) => n.startsWith('prog-'))).toHaveLength(1);

    // An entry installed through the pins must still be there after the "restart".
    const maps = SantaMaps.openPinned(pinDir);
    const reply = dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: 'a.test', type: 'A' }], answers: [{ name: 'a.test', type: 'A', ttl: 60, data: '192.0.2.1' }] });
    const entry = cacheEntry({ question: { name: 'a.test', type: 'A' }, reply, slot: 7, expiresJiffies: 1n << 62n, keyFlags: keyFlags({ recursionDesired: false, edns: false, dnssecOk: false }) });
    maps.install([entry]);
    maps.close();

    const again = await make().ensure(target);
    expect(again).toMatchObject({ adopted: true, replaced: false, programId: first.programId });
    const reopened = SantaMaps.openPinned(pinDir);
    expect(reopened.entries()).toHaveLength(1);
    reopened.close();
  });

  it('replaces the program of an older object atomically, keeping the maps and their entries', async () => {
    const before = attachedId();
    const upgraded = join(work, 'santa-v2.bpf.o');
    copyFileSync(OBJECT, upgraded);
    appendFileSync(upgraded, Buffer.from('upgrade')); // another file hash, the same program
    const result = await make(upgraded).ensure(target);
    expect(result).toMatchObject({ adopted: false, replaced: true });
    expect(result.programId).not.toBe(before);
    expect(attachedId()).toBe(result.programId);
    expect(readdirSync(pinDir).filter((n) => n.startsWith('prog-'))).toHaveLength(1);
    const maps = SantaMaps.openPinned(pinDir);
    expect(maps.entries()).toHaveLength(1);
    maps.close();
  });

  it('puts the loopback guard on lo of the namespace, from the same object; adopts it after a restart; replaces it on upgrade', async () => {
    const loader = make();
    const first = await loader.ensureLoopbackGuard(target.netns);
    expect(first).toMatchObject({ adopted: false, netns: target.netns });
    expect(guardId()).toBe(first.programId);
    expect(pins('guard-')).toHaveLength(1);
    // The guard shares the answer program's maps: its zone generations are the pinned ones.
    const pinned = bpf.objGet(join(pinDir, santaAbi().maps.zoneGens));
    const guardFd = bpf.progGetFdById(first.programId);
    try {
      expect(bpf.progInfo(guardFd).mapIds).toContain(bpf.mapInfo(pinned).id);
    } finally {
      bpf.closeFd(guardFd);
      bpf.closeFd(pinned);
    }

    expect(await make().ensureLoopbackGuard(target.netns)).toMatchObject({ adopted: true, programId: first.programId });
    // `santa status` lists it beside the interface.
    expect((await loader.describe()).attachments.map((a) => [a.iface, a.programId])).toContainEqual(['lo', first.programId]);

    const upgraded = join(work, 'santa-v3.bpf.o');
    copyFileSync(OBJECT, upgraded);
    appendFileSync(upgraded, Buffer.from('upgrade again'));
    const next = make(upgraded);
    await next.ensure(target);
    const replaced = await next.ensureLoopbackGuard(target.netns);
    expect(replaced).toMatchObject({ adopted: false, replaced: true });
    expect(replaced.programId).not.toBe(first.programId);
    expect(guardId()).toBe(replaced.programId);
    expect(pins('guard-')).toHaveLength(1);
    expect(pins('prog-')).toHaveLength(1);

    expect(await next.detachLoopbackGuard(target.netns)).toBe(true);
    expect(guardId()).toBe(0);
    expect(await next.detachLoopbackGuard(target.netns)).toBe(false);
  });

  it('never replaces or removes a tc program in the guard\'s slot that is not Santa\'s guard', async () => {
    const foreign = bpf.loadObject(FIXTURE_OBJ);
    try {
      bpf.attachTcIngress(foreign.progs.fx_tc_pass, 'lo', target.netns, guardSlot);
      const foreignId = guardId();
      await expect(make().ensureLoopbackGuard(target.netns)).rejects.toThrow(/program id \d+ in Santa's slot .*which is not Santa's guard/);
      await expect(make().detachLoopbackGuard(target.netns)).rejects.toThrow(/not Santa's guard: left in place/);
      expect(guardId()).toBe(foreignId);
    } finally {
      bpf.detachTcIngress('lo', target.netns, guardSlot);
      bpf.closeObject(foreign.id);
    }
  });

  it('detaches only Santa, and refuses to replace a program that is not Santa\'s', async () => {
    const loader = make();
    expect(await loader.detach(target)).toBe(true);
    expect(attachedId()).toBe(0);
    expect(await loader.detach(target)).toBe(false);

    const foreign = bpf.loadObject(MINIMAL);
    try {
      const fd = Object.values(foreign.progs)[0];
      bpf.attachXdp(fd, target.iface, 'generic', target.netns);
      const foreignId = attachedId();
      await expect(make().ensure(target)).rejects.toThrow(/not Santa's/);
      await expect(make().detach(target)).rejects.toThrow(/not Santa's/);
      expect(attachedId()).toBe(foreignId);
      bpf.detachXdp(target.iface, 'generic', target.netns);
    } finally {
      bpf.closeObject(foreign.id);
    }
  });
});

/**
 * The bpfman loader against a real bpfman-rpc 0.6.0: load santa.bpf.o, attach it to a veth
 * inside a network namespace (by netns path), find its maps under map_pin_path, see it count
 * real packets, adopt it again after a "restart", replace it on upgrade, share maps across
 * interfaces, and take it off cleanly. Fails (never skips) without root or bpfman-rpc; on a
 * kernel that refuses freplace programs it fails with that reason (test/run-all.sh reports the
 * suite as blocked there instead of running it).
 */
import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { BpfmanError } from '../../sidecar/loader/bpfman/client';
import { BpfmanLoader, META } from '../../sidecar/loader/bpfman/loader';
import { run } from '../support/process';
import { requireBpfmanXdpLoads } from '../support/bpfman';
import { bpfman, loader, MAPS, OBJECT, ourPrograms, PROGRAM, statsCounter, target, topo, useBpfmanDaemon, xdpOn } from './bpfman-fixture';

useBpfmanDaemon();

describe('BpfmanLoader on a veth in a namespace', () => {
  let first: Awaited<ReturnType<BpfmanLoader['ensure']>>;

  beforeAll(() => requireBpfmanXdpLoads(bpfman, OBJECT, PROGRAM), 60_000);

  test('ensure loads and attaches, and the maps are pinned under map_pin_path', async () => {
    const l = loader();
    try {
      first = await l.ensure(target);
    } finally {
      await l.close();
    }
    expect(first.adopted).toBe(false);
    expect(first.replaced).toBe(false);
    expect(first.linkId).toEqual(expect.any(Number));
    expect(first.maps.kind).toBe('pinned');
    const dir = first.maps.kind === 'pinned' ? first.maps.dir : '';
    expect(dir.startsWith('/run/bpfman/fs/maps/')).toBe(true);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(MAPS));
    for (const name of MAPS) {
      const { stdout } = await run(['bpftool', '-j', 'map', 'show', 'pinned', join(dir, name)]);
      expect((JSON.parse(stdout) as { name: string }).name).toBe(name.slice(0, 15)); // BPF_OBJ_NAME_LEN
    }
    const program = await bpfman.client.get(first.programId);
    expect(program.metadata).toMatchObject({ [META.iface]: target.iface, [META.netns]: target.netns, [META.application]: 'santa' });
    expect(program.links).toEqual([first.linkId]);
    // bpfman's dispatcher now owns the interface's XDP hook inside the namespace.
    expect((await xdpOn(topo.server.ns, topo.server.ifname))?.prog?.id).toEqual(expect.any(Number));
  });

  test('the attached program sees real packets (counted in santa_stats through the pin)', async () => {
    const dir = first.maps.kind === 'pinned' ? first.maps.dir : '';
    const before = await statsCounter(dir, 0);
    await topo.exec(topo.client, ['ping', '-c', '3', '-i', '0.2', '-W', '1', topo.server.v4]);
    expect(await statsCounter(dir, 0)).toBeGreaterThanOrEqual(before + 3);
  });

  test('a restarted Santa adopts the program instead of loading a second one', async () => {
    const l = loader();
    try {
      const again = await l.ensure(target);
      expect(again).toMatchObject({ programId: first.programId, linkId: first.linkId, maps: first.maps, adopted: true, replaced: false });
      const description = await l.describe();
      expect(description.attachments).toHaveLength(1);
      expect(description.attachments[0]).toMatchObject({ iface: target.iface, netns: target.netns, programId: first.programId });
    } finally {
      await l.close();
    }
    expect((await ourPrograms()).map((p) => p.id)).toEqual([first.programId]);
  });

  test('a second interface shares the first program\'s maps', async () => {
    await topo.exec(topo.server, ['ip', 'link', 'add', 'santa-x', 'type', 'veth', 'peer', 'name', 'santa-y']);
    await topo.exec(topo.server, ['ip', 'link', 'set', 'santa-x', 'up']);
    await topo.exec(topo.server, ['ip', 'link', 'set', 'santa-y', 'up']);
    const l = loader();
    try {
      const second = await l.ensure({ ...target, iface: 'santa-x' });
      expect(second.programId).not.toBe(first.programId);
      expect(second.maps).toEqual(first.maps);
      expect((await bpfman.client.get(second.programId)).mapOwnerId).toBe(first.programId);
      expect(await l.detach({ ...target, iface: 'santa-x' })).toBe(true);
    } finally {
      await l.close();
    }
    // The first program and its maps are untouched.
    const dir = first.maps.kind === 'pinned' ? first.maps.dir : '';
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(MAPS));
    expect((await ourPrograms()).map((p) => p.id)).toEqual([first.programId]);
  });

  test('a changed object replaces the old program (upgrade)', async () => {
    const l = loader({ readObject: async () => Buffer.from('pretend this is a newer santa.bpf.o') });
    try {
      const upgraded = await l.ensure(target);
      expect(upgraded.replaced).toBe(true);
      expect(upgraded.adopted).toBe(false);
      expect(upgraded.programId).not.toBe(first.programId);
      expect((await ourPrograms()).map((p) => p.id)).toEqual([upgraded.programId]);
      first = upgraded;
    } finally {
      await l.close();
    }
  });

  test('a failed attach leaves no program behind', async () => {
    const l = loader();
    try {
      const missing = { ...target, iface: 'santa-nope' };
      await expect(l.ensure(missing)).rejects.toThrow(BpfmanError);
      expect((await ourPrograms()).filter((p) => p.metadata[META.iface] === 'santa-nope')).toEqual([]);
    } finally {
      await l.close();
    }
  });

  test('detach unloads the program, removes its maps and frees the interface', async () => {
    const dir = first.maps.kind === 'pinned' ? first.maps.dir : '';
    const l = loader();
    try {
      expect(await l.detach(target)).toBe(true);
      expect(await l.detach(target)).toBe(false);
    } finally {
      await l.close();
    }
    expect(await ourPrograms()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect((await xdpOn(topo.server.ns, topo.server.ifname))?.prog).toBeUndefined();
  });
});

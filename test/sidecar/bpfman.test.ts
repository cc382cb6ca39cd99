/**
 * The bpfman loader against a real bpfman-rpc 0.6.0: load santa.bpf.o, attach it to a veth
 * inside a network namespace (by netns path), find its maps under map_pin_path, see it count
 * real packets, adopt it again after a "restart", replace it on upgrade, share maps across
 * interfaces, and take it off cleanly. Fails (never skips) without root or bpfman-rpc.
 */
import { existsSync, readdirSync } from 'fs';
import { join, resolve } from 'path';
import { BpfmanClient, BpfmanError } from '../../sidecar/loader/bpfman/client';
import { BpfmanLoader, META } from '../../sidecar/loader/bpfman/loader';
import type { XdpTarget } from '../../sidecar/loader/loader';
import { requireBpfmanXdpLoads, startBpfman, type BpfmanDaemon } from '../support/bpfman';
import { createTopology, type Topology } from '../support/netns';
import { run } from '../support/process';
import { requireRoot } from '../support/require-root';

const OBJECT = resolve(__dirname, '../../xdp/build/santa.bpf.o');
const PROGRAM = 'santa_xdp';
const MAPS = ['santa_cache_32', 'santa_cache_64', 'santa_cache_128', 'santa_cache_256', 'santa_hits', 'santa_settings', 'santa_stats'];
const INSTANCE = `test-${process.pid}`;

let topo: Topology;
let bpfman: BpfmanDaemon;
let target: XdpTarget;

function loader(overrides: Partial<ConstructorParameters<typeof BpfmanLoader>[0]> = {}): BpfmanLoader {
  return new BpfmanLoader({
    client: new BpfmanClient({ socketPath: bpfman.socketPath, timeoutMs: 60_000 }),
    objectPath: OBJECT,
    programName: PROGRAM,
    priority: 50,
    instance: INSTANCE,
    ...overrides,
  });
}

async function ourPrograms() {
  return bpfman.client.list({ metadata: { [META.instance]: INSTANCE } });
}

/** Sum over CPUs of santa_stats counter `index`, read through the pin with bpftool. */
async function statsCounter(mapDir: string, index: number): Promise<number> {
  const { stdout } = await run(['bpftool', '-j', 'map', 'lookup', 'pinned', join(mapDir, 'santa_stats'), 'key', '0', '0', '0', '0']);
  const entry = JSON.parse(stdout) as { values: Array<{ cpu: number; value: string[] }> };
  let sum = 0;
  for (const { value } of entry.values) {
    const bytes = Buffer.from(value.slice(index * 8, index * 8 + 8).map((h) => parseInt(h, 16)));
    sum += Number(bytes.readBigUInt64LE(0));
  }
  return sum;
}

async function xdpOn(ns: string, ifname: string): Promise<{ prog?: { id: number } } | undefined> {
  const { stdout } = await run(['ip', '-n', ns, '-j', '-d', 'link', 'show', 'dev', ifname]);
  const [link] = JSON.parse(stdout) as Array<{ xdp?: { prog?: { id: number } } }>;
  return link.xdp;
}

beforeAll(async () => {
  requireRoot('bpfman loader test');
  if (!existsSync(OBJECT)) throw new Error(`${OBJECT} is missing: build it with make -C xdp`);
  topo = await createTopology();
  target = { iface: topo.server.ifname, xdpMode: 'native', netns: topo.server.nsPath };
  bpfman = await startBpfman();
}, 60_000);

afterAll(async () => {
  try {
    if (bpfman) for (const p of await ourPrograms()) await bpfman.client.unload(p.id);
  } finally {
    try {
      await bpfman?.stop();
    } finally {
      await topo?.destroy();
    }
  }
}, 60_000);

describe('BpfmanClient', () => {
  test('errors carry bpfman\'s own message', async () => {
    const err = await bpfman.client.get(4_000_000_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BpfmanError);
    expect((err as BpfmanError).method).toBe('Get');
    expect((err as BpfmanError).details).toMatch(/Program 4000000000 does not exist/);
    expect((err as BpfmanError).message).toBe(`bpfman Get failed: ${(err as BpfmanError).details}`);
  });

  test('attach, detach and unload of unknown ids fail with bpfman\'s reason', async () => {
    await expect(bpfman.client.attachXdp(4_000_000_000, { iface: 'lo', priority: 50 })).rejects.toThrow(
      /^bpfman Attach failed: .*does not exist/,
    );
    await expect(bpfman.client.unload(4_000_000_000)).rejects.toThrow(/^bpfman Unload failed: .*does not exist/);
    await expect(bpfman.client.detach(4_000_000_000)).rejects.toThrow(/^bpfman Detach failed: .*link_4000000000/);
  });

  test('a missing object file is refused with bpfman\'s reason', async () => {
    const err = await bpfman.client
      .load({ objectPath: '/nonexistent/santa.bpf.o', programName: PROGRAM, metadata: { [META.instance]: INSTANCE } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BpfmanError);
    expect((err as Error).message).toMatch(/^bpfman Load failed: .*No such file or directory/);
    expect(await ourPrograms()).toEqual([]);
  });

  test('an unreachable socket is reported as such, within the deadline', async () => {
    const client = new BpfmanClient({ socketPath: '/run/santa-no-such-dir/bpfman.sock', timeoutMs: 2_000 });
    try {
      await expect(client.list()).rejects.toThrow(/bpfman List: (cannot reach bpfman at \/run\/santa-no-such-dir\/bpfman.sock|no answer)/);
    } finally {
      client.close();
    }
  });
});

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

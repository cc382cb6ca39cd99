/**
 * The BpfmanLoader's decisions (adopt, attach a loaded-but-unattached program, clean duplicates,
 * replace on upgrade, share maps across interfaces, roll back a failed attach, detach) against
 * an in-memory model of bpfman's program/link/map bookkeeping. The real daemon is exercised in
 * bpfman.test.ts; this covers the paths a real daemon cannot be steered into on demand.
 */
import type { BpfmanProgram, ListFilter, LoadRequest, XdpAttachRequest } from '../../sidecar/loader/bpfman/client';
import { BpfmanError } from '../../sidecar/loader/bpfman/client';
import { BpfmanLoader, META, type BpfmanApi } from '../../sidecar/loader/bpfman/loader';

const OBJECT = '/usr/lib/santa/santa.bpf.o';

/** bpfman as far as the loader can observe it: ids, links, metadata, map owners and pins. */
class BpfmanModel implements BpfmanApi {
  programs = new Map<number, BpfmanProgram & { ifaces: Map<number, string> }>();
  calls: string[] = [];
  failAttachOn = new Set<string>();
  private nextId = 100;
  private nextLink = 1;

  async load(req: LoadRequest): Promise<BpfmanProgram> {
    this.calls.push(`load ${req.metadata[META.iface]}${req.mapOwnerId ? ` owner=${req.mapOwnerId}` : ''}`);
    const id = this.nextId++;
    const owner = req.mapOwnerId;
    if (owner !== undefined && !this.programs.has(owner)) throw new BpfmanError('Load', 10, `map owner ${owner} not found`, 'sock');
    const p = {
      id,
      name: req.programName,
      programType: 6,
      mapPinPath: `/run/bpfman/fs/maps/${owner ?? id}`,
      mapIds: [],
      mapUsedBy: [],
      links: [],
      metadata: { ...req.metadata },
      loadedAt: 'now',
      tag: 't',
      ifaces: new Map<number, string>(),
      ...(owner !== undefined ? { mapOwnerId: owner } : {}),
    };
    this.programs.set(id, p);
    return this.copy(p);
  }
  async attachXdp(id: number, req: XdpAttachRequest): Promise<number> {
    this.calls.push(`attach ${id} ${req.iface}`);
    if (this.failAttachOn.has(req.iface)) throw new BpfmanError('Attach', 10, `interface ${req.iface} not found`, 'sock');
    const p = this.programs.get(id);
    if (!p) throw new BpfmanError('Attach', 10, `no program ${id}`, 'sock');
    const link = this.nextLink++;
    p.links.push(link);
    p.ifaces.set(link, req.iface);
    return link;
  }
  async detach(linkId: number): Promise<void> {
    this.calls.push(`detach ${linkId}`);
    for (const p of this.programs.values()) p.links = p.links.filter((l) => l !== linkId);
  }
  async unload(id: number): Promise<void> {
    this.calls.push(`unload ${id}`);
    if (!this.programs.delete(id)) throw new BpfmanError('Unload', 10, `no program ${id}`, 'sock');
  }
  async get(id: number): Promise<BpfmanProgram> {
    const p = this.programs.get(id);
    if (!p) throw new BpfmanError('Get', 10, `no program ${id}`, 'sock');
    return this.copy(p);
  }
  async list(filter: ListFilter = {}): Promise<BpfmanProgram[]> {
    return [...this.programs.values()]
      .filter((p) => Object.entries(filter.metadata ?? {}).every(([k, v]) => p.metadata[k] === v))
      .map((p) => this.copy(p));
  }
  close(): void {}
  private copy(p: BpfmanProgram & { ifaces?: unknown }): BpfmanProgram {
    const { ifaces: _ignored, ...rest } = p;
    void _ignored;
    return { ...rest, links: [...p.links], metadata: { ...p.metadata } };
  }
}

function loaderOn(model: BpfmanModel, objectBytes = 'v1'): BpfmanLoader {
  return new BpfmanLoader({
    client: model,
    objectPath: OBJECT,
    programName: 'santa_xdp',
    priority: 50,
    instance: 'unit',
    readObject: async () => Buffer.from(objectBytes),
  });
}

const eth0 = { iface: 'eth0', xdpMode: 'native' as const };
const eth1 = { iface: 'eth1', xdpMode: 'native' as const };

test('first ensure loads with metadata and attaches', async () => {
  const model = new BpfmanModel();
  const a = await loaderOn(model).ensure({ ...eth0, netns: '/run/netns/dns' });
  expect(a).toEqual({
    target: { ...eth0, netns: '/run/netns/dns' },
    programId: 100,
    maps: { kind: 'pinned', dir: '/run/bpfman/fs/maps/100' },
    adopted: false,
    replaced: false,
    linkId: 1,
  });
  expect(model.calls).toEqual(['load eth0', 'attach 100 eth0']);
  expect(model.programs.get(100)?.metadata).toMatchObject({
    [META.application]: 'santa',
    [META.instance]: 'unit',
    [META.iface]: 'eth0',
    [META.netns]: '/run/netns/dns',
    [META.objectHash]: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
});

test('a restart adopts the attached program without any load or attach', async () => {
  const model = new BpfmanModel();
  const first = await loaderOn(model).ensure(eth0);
  model.calls = [];
  const again = await loaderOn(model).ensure(eth0);
  expect(again).toEqual({ ...first, adopted: true });
  expect(model.calls).toEqual([]);
});

test('a loaded but unattached program (crash between Load and Attach) is attached, not loaded again', async () => {
  const model = new BpfmanModel();
  await loaderOn(model).ensure(eth0);
  await model.detach(1);
  model.calls = [];
  const a = await loaderOn(model).ensure(eth0);
  expect(model.calls).toEqual(['attach 100 eth0']);
  expect(a).toMatchObject({ programId: 100, adopted: false, replaced: false, linkId: 2 });
});

test('duplicates for one interface are reduced to the attached one', async () => {
  const model = new BpfmanModel();
  await loaderOn(model).ensure(eth0);
  // A second, unattached copy, as a racing or crashed Santa could leave.
  const dup = await model.load({ objectPath: OBJECT, programName: 'santa_xdp', metadata: { ...model.programs.get(100)!.metadata } });
  model.calls = [];
  const a = await loaderOn(model).ensure(eth0);
  expect(model.calls).toEqual([`unload ${dup.id}`]);
  expect(a).toMatchObject({ programId: 100, adopted: true });
});

test('a changed object is replaced: old program unloaded, new one loaded and attached', async () => {
  const model = new BpfmanModel();
  await loaderOn(model, 'v1').ensure(eth0);
  model.calls = [];
  const a = await loaderOn(model, 'v2').ensure(eth0);
  expect(model.calls).toEqual(['unload 100', 'load eth0', 'attach 101 eth0']);
  expect(a).toMatchObject({ programId: 101, adopted: false, replaced: true });
});

test('further interfaces share the first program\'s maps', async () => {
  const model = new BpfmanModel();
  const l = loaderOn(model);
  const a0 = await l.ensure(eth0);
  const a1 = await l.ensure(eth1);
  expect(model.calls).toEqual(['load eth0', 'attach 100 eth0', 'load eth1 owner=100', 'attach 101 eth1']);
  expect(a1.maps).toEqual(a0.maps);
  const description = await l.describe();
  expect(description.attachments.map((x) => [x.iface, x.programId, x.details.map_owner])).toEqual([
    ['eth0', 100, '100'],
    ['eth1', 101, '100'],
  ]);
});

test('programs of an old object are not used as map owners for a new one', async () => {
  const model = new BpfmanModel();
  await loaderOn(model, 'v1').ensure(eth0);
  model.calls = [];
  await loaderOn(model, 'v2').ensure(eth1);
  expect(model.calls).toEqual(['load eth1', 'attach 101 eth1']);
});

test('a failed attach unloads the program it just loaded and reports bpfman\'s message', async () => {
  const model = new BpfmanModel();
  model.failAttachOn.add('eth9');
  await expect(loaderOn(model).ensure({ iface: 'eth9', xdpMode: 'native' })).rejects.toThrow(
    'bpfman Attach failed: interface eth9 not found',
  );
  expect(model.calls).toEqual(['load eth9', 'attach 100 eth9', 'unload 100']);
  expect(model.programs.size).toBe(0);
});

test('detach unloads only the target\'s programs, and says whether there were any', async () => {
  const model = new BpfmanModel();
  const l = loaderOn(model);
  await l.ensure(eth0);
  await l.ensure(eth1);
  model.calls = [];
  expect(await l.detach(eth1)).toBe(true);
  expect(model.calls).toEqual(['unload 101']);
  expect(await l.detach(eth1)).toBe(false);
  expect([...model.programs.keys()]).toEqual([100]);
});

test('other instances and other applications are left alone', async () => {
  const model = new BpfmanModel();
  await model.load({ objectPath: OBJECT, programName: 'x', metadata: { [META.application]: 'santa', [META.instance]: 'other', [META.iface]: 'eth0' } });
  await model.load({ objectPath: OBJECT, programName: 'y', metadata: { [META.application]: 'firewall', [META.iface]: 'eth0' } });
  model.calls = [];
  const a = await loaderOn(model).ensure(eth0);
  expect(a.programId).toBe(102);
  expect(model.calls).toEqual(['load eth0', 'attach 102 eth0']);
  expect(await loaderOn(model).detach(eth0)).toBe(true);
  expect([...model.programs.keys()]).toEqual([100, 101]);
});

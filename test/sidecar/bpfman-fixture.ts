/**
 * What the bpfman suites share: a real bpfman-rpc 0.6.0 and a namespace pair, started once per
 * suite by useBpfmanDaemon(), and helpers to look at what bpfman did. The exported `let`s are
 * live bindings: read them inside tests, after beforeAll has run.
 */
import { existsSync } from 'fs';
import { join, resolve } from 'path';
import { BpfmanClient } from '../../sidecar/loader/bpfman/client';
import { BpfmanLoader, META } from '../../sidecar/loader/bpfman/loader';
import type { XdpTarget } from '../../sidecar/loader/loader';
import { santaAbi, santaMapNames } from '../../sidecar/bpf/abi';
import { startBpfman, type BpfmanDaemon } from '../support/bpfman';
import { createTopology, type Topology } from '../support/netns';
import { run } from '../support/process';
import { requireRoot } from '../support/require-root';

export const OBJECT = resolve(__dirname, '../../xdp/build/santa.bpf.o');
export const PROGRAM = 'santa_xdp';
/** Every map the program defines: bpfman must pin each under its map_pin_path. */
export const MAPS = santaMapNames(santaAbi());
export const INSTANCE = `test-${process.pid}`;

export let topo: Topology;
export let bpfman: BpfmanDaemon;
export let target: XdpTarget;

export function loader(overrides: Partial<ConstructorParameters<typeof BpfmanLoader>[0]> = {}): BpfmanLoader {
  return new BpfmanLoader({
    client: new BpfmanClient({ socketPath: bpfman.socketPath, timeoutMs: 60_000 }),
    objectPath: OBJECT,
    programName: PROGRAM,
    priority: 50,
    instance: INSTANCE,
    ...overrides,
  });
}

export async function ourPrograms() {
  return bpfman.client.list({ metadata: { [META.instance]: INSTANCE } });
}

/** Sum over CPUs of santa_stats counter `index`, read through the pin with bpftool. */
export async function statsCounter(mapDir: string, index: number): Promise<number> {
  const { stdout } = await run(['bpftool', '-j', 'map', 'lookup', 'pinned', join(mapDir, 'santa_stats'), 'key', '0', '0', '0', '0']);
  const entry = JSON.parse(stdout) as { values: Array<{ cpu: number; value: string[] }> };
  let sum = 0;
  for (const { value } of entry.values) {
    const bytes = Buffer.from(value.slice(index * 8, index * 8 + 8).map((h) => parseInt(h, 16)));
    sum += Number(bytes.readBigUInt64LE(0));
  }
  return sum;
}

export async function xdpOn(ns: string, ifname: string): Promise<{ prog?: { id: number } } | undefined> {
  const { stdout } = await run(['ip', '-n', ns, '-j', '-d', 'link', 'show', 'dev', ifname]);
  const [link] = JSON.parse(stdout) as Array<{ xdp?: { prog?: { id: number } } }>;
  return link.xdp;
}

export function useBpfmanDaemon(): void {
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
}

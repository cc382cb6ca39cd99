/**
 * Benchmark: how long the sidecar takes to encode, install, renew, read back and remove a hot
 * set of N cache entries in the real kernel maps (batch syscalls through SantaMaps).
 *
 *   npx tsx test/bpf/bench-install.ts [--entries 100000] [--rounds 3] [--object santa|fixture]
 *
 * `santa` (default) loads xdp/build/santa.bpf.o, `fixture` the maps-only test object. Prints the
 * median of the rounds per step, as wall time and as this process's CPU time (user + system,
 * which includes the kernel's work in the bpf() calls and is what other load on the machine
 * cannot inflate); run as root. A benchmark, never a test: nothing is asserted.
 */
import { performance } from 'perf_hooks';
import { indexGroupsFor, santaAbi } from '../../sidecar/bpf/abi';
import { cacheEntry, keyFlags } from '../../sidecar/bpf/codec';
import { CacheEntry, SantaMaps } from '../../sidecar/bpf/maps';
import { loadNative } from '../../sidecar/bpf/native';
import { buildNativeAndFixtures, buildSantaObject, SANTA_MAPS_OBJ, SANTA_OBJ } from './setup';
import { pointer, rawReply, rr } from './wire';
import { median } from '../bench/paper/stats';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const entries = Number(arg('entries', '100000'));
const rounds = Number(arg('rounds', '3'));
const which = arg('object', 'santa');
if (!Number.isInteger(entries) || entries < 1 || !Number.isInteger(rounds) || rounds < 1) {
  throw new Error('--entries and --rounds take positive integers');
}

buildNativeAndFixtures();
if (which === 'santa') buildSantaObject();
const objectPath = which === 'santa' ? SANTA_OBJ : which === 'fixture' ? SANTA_MAPS_OBJ : undefined;
if (!objectPath) throw new Error(`--object is santa or fixture, not ${which}`);

const bpf = loadNative();
const abi = santaAbi();
const A = 1;
const flags = keyFlags({ recursionDesired: false, edns: true, dnssecOk: false });

// Realistic replies: an A answer, the zone's NS in the authority, and an OPT record.
const names = Array.from({ length: entries }, (_, i) => `host-${i}.example.test`);
const replies = names.map((name, i) =>
  rawReply({
    flags: 0x8400,
    qname: name,
    qtype: A,
    answers: [rr(pointer(12), A, 300, Buffer.from([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]))],
    authority: [rr(pointer(12 + 1 + `host-${i}`.length), 2, 300, Buffer.concat([Buffer.from([3]), Buffer.from('ns1'), pointer(12 + 1 + `host-${i}`.length)]))],
    additional: [Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0])],
  }),
);

const timings = new Map<string, { wall: number[]; cpu: number[] }>();
function time<T>(step: string, fn: () => T): T {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const result = fn();
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - start;
  if (!timings.has(step)) timings.set(step, { wall: [], cpu: [] });
  timings.get(step)!.wall.push(ms);
  timings.get(step)!.cpu.push((cpu.user + cpu.system) / 1000);
  return result;
}

for (let round = 0; round < rounds; round++) {
  const obj = bpf.loadObject(objectPath, {
    mapMaxEntries: { [abi.maps.entries]: entries, [abi.maps.index]: indexGroupsFor(entries, abi), [abi.maps.hits]: entries },
  });
  const maps = SantaMaps.fromLoadedObject(obj);
  try {
    const hot: CacheEntry[] = time('encode (cacheEntry)', () =>
      replies.map((reply, i) => cacheEntry({ question: { name: names[i], type: 'A' }, reply, slot: i, expiresJiffies: 1n << 60n, keyFlags: flags })),
    );
    const installed = time('install (empty maps)', () => maps.install(hot));
    if (installed !== entries) throw new Error(`installed ${installed} of ${entries}`);
    time('install again (renew leases)', () => maps.install(hot));
    const slots = Array.from({ length: entries }, (_, i) => i);
    time('readHits (all slots)', () => maps.readHits(slots));
    time('zeroSlots (all slots)', () => maps.zeroSlots(slots));
    const listed = time('entries (list + decode)', () => maps.entries().length);
    if (listed !== entries) throw new Error(`listed ${listed} of ${entries}`);
    const removed = time('remove', () => maps.remove(hot));
    if (removed !== entries) throw new Error(`removed ${removed} of ${entries}`);
  } finally {
    maps.close();
    bpf.closeObject(obj.id);
  }
}

console.log(`${entries} entries, ${rounds} rounds, object ${objectPath}, ${bpf.numPossibleCpus()} possible CPUs`);
console.log('step                           wall ms   cpu ms   cpu us/entry   wall ms per round');
for (const [step, t] of timings) {
  console.log(
    `${step.padEnd(30)} ${median(t.wall).toFixed(0).padStart(7)}  ${median(t.cpu).toFixed(0).padStart(7)}  ${((median(t.cpu) * 1000) / entries).toFixed(2).padStart(13)}   ${t.wall.map((m) => m.toFixed(0)).join(' ')}`,
  );
}

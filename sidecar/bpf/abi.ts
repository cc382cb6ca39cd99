/**
 * The Santa map layout (xdp/include/santa_abi.h) as the C compiler computed it, read once from
 * the native binding. No TypeScript file repeats a number from the header: codecs take their
 * offsets and sizes from here, so a header change cannot silently desynchronise them.
 */
import { loadNative, NativeAbi } from './native';

export type SantaAbi = Readonly<NativeAbi>;
export type Tier = SantaAbi['tiers'][number];

let cached: SantaAbi | undefined;

export function santaAbi(): SantaAbi {
  if (!cached) cached = deepFreeze(loadNative().abi());
  return cached;
}

/** The smallest tier whose name buffer holds a wire name of `nameLength` bytes. */
export function tierForNameLength(abi: SantaAbi, nameLength: number): Tier {
  if (!Number.isInteger(nameLength) || nameLength < 1 || nameLength > abi.limits.NAME_MAX) {
    throw new RangeError(`a wire name is 1..${abi.limits.NAME_MAX} bytes, not ${nameLength}`);
  }
  const tier = abi.tiers.find((t) => nameLength <= t.nameSize);
  if (!tier) throw new RangeError(`no key tier holds a ${nameLength}-byte name`);
  return tier;
}

export function tierByMapName(abi: SantaAbi, mapName: string): Tier {
  const tier = abi.tiers.find((t) => t.mapName === mapName);
  if (!tier) throw new RangeError(`${mapName} is not a Santa cache map (${abi.tiers.map((t) => t.mapName).join(', ')})`);
  return tier;
}

/** Bytes one CPU's copy of a per-CPU value occupies in what the kernel returns. */
export function perCpuStride(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/** Every map the Santa program defines, by its pinned name. */
export function santaMapNames(abi: SantaAbi): string[] {
  return [...abi.tiers.map((t) => t.mapName), abi.maps.hits, abi.maps.settings, abi.maps.stats, abi.rrl.maps.config, abi.rrl.maps.buckets];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

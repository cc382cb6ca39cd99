/**
 * santa_rrl_config, santa_rrl_key and santa_rrl_bucket bytes (santa_abi.h, RRL section), with
 * offsets from the native binding's abi(). Pure.
 */
import { endianness } from 'node:os';
import type { SantaAbi } from '../bpf/abi';
import { writePrefixes } from '../bpf/codec';
import { prefixMask } from '../net/ip';
import type { RrlConfig } from './config';
import { RrlKind } from './identity';

const HOST_LE = endianness() === 'LE';

type RrlAbi = SantaAbi['rrl'];

/** The TypeScript enum must be the header's, or every entry would draw on the wrong bucket. */
export function checkKinds(abi: RrlAbi): void {
  const want: Record<string, number> = { RESPONSE: RrlKind.Response, NXDOMAIN: RrlKind.Nxdomain, NODATA: RrlKind.Nodata, REFERRAL: RrlKind.Referral, ERROR: RrlKind.Error };
  for (const [name, value] of Object.entries(want)) {
    const actual = (abi.kinds as Record<string, number>)[name];
    if (actual !== value) throw new Error(`santa_rrl_kind ${name} is ${actual} in santa_abi.h but ${value} in sidecar/rrl/identity.ts`);
  }
}

/** The config map value; `null` config writes RRL off. `hz` is the kernel's jiffies per second. */
export function encodeRrlConfig(cfg: RrlConfig | null, hz: number, santa: SantaAbi): Buffer {
  const abi = santa.rrl;
  checkKinds(abi);
  const o = abi.config;
  const out = Buffer.alloc(o.size);
  if (!cfg) return out;
  if (!Number.isInteger(hz) || hz < 1 || hz > 100_000) throw new RangeError(`HZ ${hz} is not a kernel tick rate`);
  const v4 = cfg.exemptClients.filter((p) => p.family === 4);
  const v6 = cfg.exemptClients.filter((p) => p.family === 6);
  for (const [list, family] of [[v4, 'IPv4'], [v6, 'IPv6']] as const) {
    if (list.length > o.maxExempt) throw new RangeError(`exempt-clients has ${list.length} ${family} elements; Santa supports at most ${o.maxExempt}`);
  }
  out[o.on] = 1;
  out[o.logOnly] = cfg.logOnly ? 1 : 0;
  out[o.slip] = cfg.slip;
  out[o.nExemptV4] = v4.length;
  out[o.nExemptV6] = v6.length;
  writeU32(out, o.hz, hz);
  writeU32(out, o.window, cfg.window);
  const rates = [cfg.responsesPerSecond, cfg.nxdomainsPerSecond, cfg.nodataPerSecond, cfg.referralsPerSecond, cfg.errorsPerSecond];
  const kinds = [RrlKind.Response, RrlKind.Nxdomain, RrlKind.Nodata, RrlKind.Referral, RrlKind.Error];
  kinds.forEach((kind, i) => writeU32(out, o.rate + 4 * kind, rates[i]));
  writeU32(out, o.allRate, cfg.allPerSecond);
  prefixMask(4, cfg.ipv4PrefixLength).copy(out, o.v4Mask);
  prefixMask(16, cfg.ipv6PrefixLength).copy(out, o.v6Mask);
  writePrefixes(out, o.exemptV4, v4, santa);
  writePrefixes(out, o.exemptV6, v6, santa);
  return out;
}

export interface RrlBucketKey {
  family: 4 | 6;
  /** The masked client address (4 or 16 bytes). */
  address: Buffer;
  kind: number;
  id: number;
}

export interface RrlBucket {
  balance: number;
  /** Second (jiffies / HZ) of the last debit. */
  ts: number;
  slipCount: number;
}

export function decodeBucketKey(b: Buffer, abi: RrlAbi): RrlBucketKey {
  const k = abi.key;
  const family = b[k.family] === 6 ? 6 : 4;
  return { family, address: Buffer.from(b.subarray(k.addr, k.addr + (family === 4 ? 4 : 16))), kind: b[k.kind], id: readU32(b, k.id) };
}

export function decodeBucket(b: Buffer, abi: RrlAbi): RrlBucket {
  const o = abi.bucket;
  return { balance: HOST_LE ? b.readInt32LE(o.balance) : b.readInt32BE(o.balance), ts: readU32(b, o.ts), slipCount: readU32(b, o.slipCnt) };
}

export function encodeBucket(v: RrlBucket, abi: RrlAbi): Buffer {
  const o = abi.bucket;
  const out = Buffer.alloc(o.size);
  if (HOST_LE) out.writeInt32LE(v.balance, o.balance);
  else out.writeInt32BE(v.balance, o.balance);
  writeU32(out, o.ts, v.ts >>> 0);
  writeU32(out, o.slipCnt, v.slipCount);
  return out;
}

function writeU32(b: Buffer, off: number, v: number): void {
  if (HOST_LE) b.writeUInt32LE(v, off);
  else b.writeUInt32BE(v, off);
}

function readU32(b: Buffer, off: number): number {
  return HOST_LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

/**
 * The vocabulary of the reference model: what it is told (settings, installed entries, the
 * clock) and what it decides. Reasons are the counter names of santa_abi.h without the
 * SANTA_CNT_ prefix, as the native binding exports them.
 */
import type { SantaSettings } from '../../../sidecar/bpf/codec';

export type ModelSettings = SantaSettings;

export type PassReason =
  | 'PASS_DISABLED'
  | 'PASS_NOT_DNS'
  | 'PASS_FRAGMENT'
  | 'PASS_MALFORMED'
  | 'PASS_UNSUPPORTED'
  | 'PASS_EDNS_VERSION'
  | 'PASS_EDNS_OPTIONS'
  | 'PASS_MISS'
  | 'PASS_EXPIRED'
  | 'PASS_TOO_BIG'
  | 'PASS_NO_ROOM'
  | 'PASS_BAD_COOKIE'
  | 'PASS_ZONE_CHANGED'
  | 'PASS_BLACKHOLE'
  | 'DRY_RUN_HITS';

/** The query properties that select one of BIND's responses (issue 2, "Key"). */
export interface KeyBits {
  rd: boolean;
  edns: boolean;
  dnssecOk: boolean;
  v6: boolean;
}

/** One installed answer, described by what it means rather than by its map encoding. */
export interface ModelEntry {
  /** Wire name, lower-cased. */
  name: Buffer;
  qtype: number;
  qclass: number;
  bits: KeyBits;
  /** The complete response BIND sends for this question and these bits (any ID). */
  response: Buffer;
  /** Lease end in jiffies (bpf_jiffies64), as entries hold it. */
  expiresJiffies: bigint;
  slot: number;
  /** The zone change guard's stamp (slot, generation); absent: slot 0, generation 0. */
  zone?: { slot: number; gen: number };
}

export interface ModelWorld {
  settings: ModelSettings;
  entries: ReadonlyMap<string, ModelEntry>;
  nowJiffies: bigint;
  /** The program's wall clock in whole seconds (mod 2^32), as cookie timestamps hold it. */
  nowSeconds: number;
  /** Largest frame the driver can grow to; the test run has far more than any reply needs. */
  maxFrame: number;
  /** The zone change guard's generations by slot (absent: 0), kept up to date by the caller as
   * the program bumps them (xdp/oracle.ts). */
  zoneGens?: ReadonlyMap<number, number>;
}

/**
 * A reply the program is about to send, before response rate limiting has its say: the full
 * answer, and the truncated one it sends instead when the limiter slips. `rrl` is absent when
 * the query is exempt from the limiter (a valid server cookie).
 */
export interface Answer {
  verdict: 'tx';
  reply: Buffer;
  slot: number;
  /** The query's cookie, when it had one that was accepted. */
  cookie?: 'client-only' | 'valid-server';
  /** Built on demand: only a limiter that slips needs it. */
  rrl?: { client: Buffer; family: 4 | 6; response: Buffer; slipReply: () => Buffer };
}

export type Decision =
  | {
      verdict: 'pass';
      reason: PassReason;
      /** counted as a DNS query on the way */ dnsQuery: boolean;
      /** An UPDATE or NOTIFY for this zone (lower-cased wire name): its generation is bumped. */
      zoneChange?: Buffer;
    }
  | Answer;

/** What a reply became once the limiter decided (model/rrl.ts). */
export type LimitedDecision =
  | { verdict: 'pass'; reason: PassReason; dnsQuery: boolean; zoneChange?: Buffer }
  | { verdict: 'tx'; reply: Buffer; slot: number; wouldLimit: boolean; cookie: boolean }
  | { verdict: 'slip'; reply: Buffer; cookie: boolean }
  | { verdict: 'drop' };

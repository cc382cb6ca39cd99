/**
 * Reference model of the program's rate limiter (xdp/rrl.h): the same buckets and the same
 * arithmetic, in TypeScript, for tests and the differential fuzzer. Time is whole seconds.
 */
import { isIPv4 } from 'node:net';
import { addressBytes, prefixMask } from '../net/ip';
import type { RrlConfig } from './config';
import { listMatches } from '../named-conf/address-match';
import { RrlKind, type RrlIdentity } from './identity';

export type RrlVerdict = 'allow' | 'drop' | 'slip' | 'would-limit';

interface Bucket {
  balance: number;
  ts: number;
  slipCount: number;
}

const ALL = 5; // santa_rrl_kind SANTA_RRL_ALL

export class RrlModel {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly cfg: RrlConfig) {}

  /** The verdict for one reply to `client` at second `now`; `validServerCookie` bypasses. */
  decide(client: string, identity: RrlIdentity, now: number, validServerCookie = false): RrlVerdict {
    if (validServerCookie || this.exempt(client)) return 'allow';
    const netblock = this.netblock(client);
    let verdict: RrlVerdict = 'allow';
    const rate = this.rate(identity.kind);
    if (rate > 0) {
      verdict = this.debit(`${netblock}|${identity.kind}|${identity.id}`, rate, now, identity.kind === RrlKind.Error ? 0 : this.cfg.slip);
    }
    if (this.cfg.allPerSecond > 0) {
      const all = this.debit(`${netblock}|${ALL}|0`, this.cfg.allPerSecond, now, 0);
      if (all !== 'allow') verdict = all;
    }
    return verdict !== 'allow' && this.cfg.logOnly ? 'would-limit' : verdict;
  }

  /** Moves every bucket's last-debit time `seconds` into the past, as if that much time had
   * passed since (what a test does to the program's buckets to control its clock). */
  elapse(seconds: number): void {
    for (const b of this.buckets.values()) b.ts -= seconds;
  }

  private debit(key: string, rate: number, now: number, slip: number): RrlVerdict {
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { balance: rate - 1, ts: now, slipCount: 0 });
      return 'allow';
    }
    const age = (now - b.ts) | 0;
    if (age > 0) {
      if (age > this.cfg.window) {
        b.balance = rate;
        b.slipCount = 0;
      } else {
        b.balance += rate * age;
        if (b.balance > rate) {
          b.balance = rate;
          b.slipCount = 0;
        }
      }
    }
    b.ts = now;
    if (--b.balance >= 0) return 'allow';
    b.balance = Math.max(b.balance, -this.cfg.window * rate);
    if (slip) {
      if (b.slipCount++ === 0) {
        if (b.slipCount >= slip) b.slipCount = 0;
        return 'slip';
      }
      if (b.slipCount >= slip) b.slipCount = 0;
    }
    return 'drop';
  }

  private rate(kind: RrlKind): number {
    switch (kind) {
      case RrlKind.Response:
        return this.cfg.responsesPerSecond;
      case RrlKind.Nxdomain:
        return this.cfg.nxdomainsPerSecond;
      case RrlKind.Nodata:
        return this.cfg.nodataPerSecond;
      case RrlKind.Referral:
        return this.cfg.referralsPerSecond;
      default:
        return this.cfg.errorsPerSecond;
    }
  }

  private exempt(client: string): boolean {
    return listMatches(this.cfg.exemptClients, addressBytes(isIPv4(client) ? 4 : 6, client));
  }

  private netblock(client: string): string {
    const family = isIPv4(client) ? 4 : 6;
    const addr = addressBytes(family, client);
    const mask = prefixMask(addr.length, family === 4 ? this.cfg.ipv4PrefixLength : this.cfg.ipv6PrefixLength);
    return `${family}:${Buffer.from(addr.map((b, i) => b & mask[i])).toString('hex')}`;
  }
}

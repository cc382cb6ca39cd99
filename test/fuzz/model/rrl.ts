/**
 * Response rate limiting applied to an answer: the limiter itself is the sidecar's reference
 * model (sidecar/rrl/model.ts), which is stateful; this is only what its verdict turns the
 * answer into. A query with a valid server cookie (no `rrl` on the answer) is never limited.
 */
import type { RrlVerdict } from '../../../sidecar/rrl/model';
import type { Decision, LimitedDecision } from './types';

export function applyRrl(d: Decision, verdict: RrlVerdict | undefined): LimitedDecision {
  if (d.verdict === 'pass') return d;
  const cookie = d.cookie !== undefined;
  if (!d.rrl || verdict === undefined || verdict === 'allow') return { verdict: 'tx', reply: d.reply, slot: d.slot, wouldLimit: false, cookie };
  switch (verdict) {
    case 'would-limit':
      return { verdict: 'tx', reply: d.reply, slot: d.slot, wouldLimit: true, cookie };
    case 'slip':
      return { verdict: 'slip', reply: d.rrl.slipReply(), cookie };
    default:
      return { verdict: 'drop' };
  }
}

/** The client address as the sidecar's RRL model takes it. */
export function clientAddressText(address: Buffer): string {
  if (address.length === 4) return [...address].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(address.readUInt16BE(i).toString(16));
  return groups.join(':');
}

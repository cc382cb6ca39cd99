/**
 * santa_xdp's decision for one frame, as the issues specify it: pass (with the counter that
 * says why) or transmit exactly these bytes. The order of the checks is the order of the
 * packet: mode, then layers 2-4, the DNS message, the lookup, the lease, the client's size
 * limit, and dry-run last (a dry-run hit is a would-be reply that passes).
 */
import { parseHeaders } from './frame';
import { entryId } from './keys';
import { parseQuery } from './query';
import { replyFrame, replyMessage } from './reply';
import type { Decision, ModelWorld } from './types';

export function decide(world: ModelWorld, frame: Buffer): Decision {
  const { settings } = world;
  if (settings.mode === 'off') return { verdict: 'pass', reason: 'PASS_DISABLED', dnsQuery: false };

  const headers = parseHeaders(frame, settings);
  if ('pass' in headers) return { verdict: 'pass', reason: headers.pass, dnsQuery: headers.dnsQuery };
  const d = headers.datagram;

  const query = parseQuery(d.dns, d.family === 6, settings);
  if ('pass' in query) return { verdict: 'pass', reason: query.pass, dnsQuery: true };
  const q = query.question;

  const entry = world.entries.get(entryId(q.name, q.qtype, q.qclass, q.bits));
  if (!entry) return { verdict: 'pass', reason: 'PASS_MISS', dnsQuery: true };
  if (entry.expiresJiffies <= world.nowJiffies) return { verdict: 'pass', reason: 'PASS_EXPIRED', dnsQuery: true };
  const message = replyMessage(q, entry.response);
  if (message.length > q.limit) return { verdict: 'pass', reason: 'PASS_TOO_BIG', dnsQuery: true };
  if (settings.mode === 'dry-run') return { verdict: 'pass', reason: 'DRY_RUN_HITS', dnsQuery: true };

  const reply = replyFrame(frame, d, message);
  if (reply.length > world.maxFrame) return { verdict: 'pass', reason: 'PASS_NO_ROOM', dnsQuery: true };
  return { verdict: 'tx', reply, slot: entry.slot };
}

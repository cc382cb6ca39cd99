/**
 * santa_xdp's decision for one frame, as the issues specify it: pass (with the counter that
 * says why) or transmit exactly these bytes. The order of the checks is the order of the
 * packet: mode, then layers 2-4, the DNS message (an UPDATE or NOTIFY also bumps its zone's
 * generation), the lookup, the client against named's blackhole list, the lease, the zone's generation, the cookie, the
 * client's size limit, and dry-run (a dry-run hit is a would-be reply that passes). What is
 * left is an answer, which response rate limiting may still drop or slip (model/rrl.ts).
 */
import { listMatches } from '../../../sidecar/named-conf/address-match';
import { checkCookie, replyCookieRdata } from './cookie';
import { parseHeaders } from './frame';
import { entryId } from './keys';
import { parseQuery } from './query';
import { replyFrame, replyMessage, responseTail, slipMessage } from './reply';
import type { Answer, Decision, ModelWorld } from './types';
import { zoneChangeOf } from './zone-change';

/** ns_client_dropport: echo, daytime, chargen, time. */
const DROPPED_SOURCE_PORTS = new Set([7, 13, 19, 37]);

export function decide(world: ModelWorld, frame: Buffer): Decision {
  const { settings } = world;
  if (settings.mode === 'off') return { verdict: 'pass', reason: 'PASS_DISABLED', dnsQuery: false };

  const headers = parseHeaders(frame, settings);
  if ('pass' in headers) return { verdict: 'pass', reason: headers.pass, dnsQuery: headers.dnsQuery, ...(headers.zoneChange ? { zoneChange: headers.zoneChange } : {}) };
  const d = headers.datagram;

  const query = parseQuery(d.dns, d.family === 6, settings, d.frameRest);
  if ('pass' in query) {
    const zoneChange = zoneChangeOf(d.dns);
    return { verdict: 'pass', reason: query.pass, dnsQuery: true, ...(zoneChange ? { zoneChange } : {}) };
  }
  const q = query.question;

  const entry = world.entries.get(entryId(q.name, q.qtype, q.qclass, q.bits));
  if (!entry) return { verdict: 'pass', reason: 'PASS_MISS', dnsQuery: true };
  // named drops requests from these source ports and from its blackhole list; the program
  // asks only of cached questions.
  if (DROPPED_SOURCE_PORTS.has(d.sport)) return { verdict: 'pass', reason: 'PASS_UNSUPPORTED', dnsQuery: true };
  if (listMatches(settings.blackhole ?? [], d.src)) return { verdict: 'pass', reason: 'PASS_BLACKHOLE', dnsQuery: true };
  if (entry.expiresJiffies <= world.nowJiffies) return { verdict: 'pass', reason: 'PASS_EXPIRED', dnsQuery: true };
  const zone = entry.zone ?? { slot: 0, gen: 0 };
  if ((world.zoneGens?.get(zone.slot) ?? 0) !== zone.gen) return { verdict: 'pass', reason: 'PASS_ZONE_CHANGED', dnsQuery: true };
  let cookieRdata: Buffer | undefined;
  let cookie: Answer['cookie'];
  if (q.cookie) {
    const check = checkCookie(settings, q.cookie, d.src, world.nowSeconds);
    if (check === 'bad') return { verdict: 'pass', reason: 'PASS_BAD_COOKIE', dnsQuery: true };
    // The COOKIE option replaces the entry's final OPT RDLENGTH, which must be 0.
    const tail = responseTail(entry.response);
    if (tail.length < 2 || tail[tail.length - 2] | tail[tail.length - 1]) return { verdict: 'pass', reason: 'PASS_UNSUPPORTED', dnsQuery: true };
    cookieRdata = replyCookieRdata(settings, q.cookie, d.src, world.nowSeconds);
    cookie = check;
  }
  const message = replyMessage(q, entry.response, cookieRdata);
  if (message.length > q.limit) return { verdict: 'pass', reason: 'PASS_TOO_BIG', dnsQuery: true };
  // named's nocookie-udp-size holds every reply but one to a valid server cookie.
  if (cookie !== 'valid-server' && settings.nocookieUdpSize && message.length > settings.nocookieUdpSize) return { verdict: 'pass', reason: 'PASS_TOO_BIG', dnsQuery: true };
  if (settings.mode === 'dry-run') return { verdict: 'pass', reason: 'DRY_RUN_HITS', dnsQuery: true };

  const reply = replyFrame(frame, d, message);
  if (reply.length > world.maxFrame) return { verdict: 'pass', reason: 'PASS_NO_ROOM', dnsQuery: true };
  const answer: Answer = { verdict: 'tx', reply, slot: entry.slot, ...(cookie ? { cookie } : {}) };
  if (cookie === 'valid-server') return answer; // BIND exempts a valid server cookie from RRL
  const slipReply = () => replyFrame(frame, d, slipMessage(q, entry.response, cookieRdata));
  return { ...answer, rrl: { client: d.src, family: d.family, response: entry.response, slipReply } };
}

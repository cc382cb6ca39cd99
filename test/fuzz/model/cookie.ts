/**
 * DNS cookies as santa_xdp answers them (issue 8; RFC 7873, RFC 9018 with BIND 9.18's
 * siphash24): which presented cookies are accepted at a given second, and the COOKIE option a
 * reply carries. The hash is the sidecar's reference SipHash-2-4, not the program's.
 */
import { siphash24 } from '../../../sidecar/cookies/siphash';
import type { QueryCookie } from './query';
import type { ModelSettings } from './types';

const VERSION = 1;
const MAX_AGE_S = 3600;
const MAX_AHEAD_S = 300;
const EDNS_COOKIE = 10;
/** Code, length, client cookie and server cookie: what a reply's OPT gains. */
export const COOKIE_OPTION_BYTES = 4 + 8 + 16;

/** Serial-number difference of two 32-bit second counts (RFC 1982), as BIND compares them. */
const serialDiff = (a: number, b: number) => (a - b) | 0;

/** Recent mints: a fuzz case mints one cookie up to three times (generator, check, reply),
 * and the reference SipHash is a plain BigInt one. */
const recentMints = new Map<string, Buffer>();
const RECENT_MINTS = 64;

/** The 16-byte server cookie for this client cookie and address at `seconds` (mod 2^32). */
export function mintServerCookie(secret: Uint8Array, client: Buffer, clientAddress: Buffer, seconds: number): Buffer {
  const head = Buffer.alloc(8);
  head[0] = VERSION;
  head.writeUInt32BE(seconds >>> 0, 4);
  const message = Buffer.concat([client, head, clientAddress]);
  const memo = `${Buffer.from(secret).toString('hex')}/${message.toString('hex')}`;
  let cookie = recentMints.get(memo);
  if (!cookie) {
    cookie = Buffer.concat([head, siphash24(secret, message)]);
    if (recentMints.size >= RECENT_MINTS) recentMints.delete(recentMints.keys().next().value!);
    recentMints.set(memo, cookie);
  }
  return Buffer.from(cookie);
}

/** Whether a presented server cookie is one BIND would accept now. */
export function serverCookieValid(secret: Uint8Array, cookie: QueryCookie & { server: Buffer }, clientAddress: Buffer, now: number): boolean {
  const when = cookie.server.readUInt32BE(4);
  if (serialDiff(when, now + MAX_AHEAD_S) > 0 || serialDiff(when, now - MAX_AGE_S) < 0) return false;
  if (cookie.server[0] !== VERSION || cookie.server[1] | cookie.server[2] | cookie.server[3]) return false;
  return mintServerCookie(secret, cookie.client, clientAddress, when).equals(cookie.server);
}

export type CookieCheck = 'bad' | 'client-only' | 'valid-server';

/** santa_cookie's verdict on a query's cookie (cookies on: the parse let it through). */
export function checkCookie(settings: ModelSettings, cookie: QueryCookie, clientAddress: Buffer, now: number): CookieCheck {
  const cfg = settings.cookie!;
  if (!cookie.server) return cfg.requireServerCookie ? 'bad' : 'client-only';
  return serverCookieValid(cfg.secret, { ...cookie, server: cookie.server }, clientAddress, now) ? 'valid-server' : 'bad';
}

/** OPT RDLENGTH and the COOKIE option every cookie reply ends with: the client's cookie and a
 * server cookie minted now. */
export function replyCookieRdata(settings: ModelSettings, cookie: QueryCookie, clientAddress: Buffer, now: number): Buffer {
  const option = Buffer.alloc(2 + 4);
  option.writeUInt16BE(COOKIE_OPTION_BYTES, 0);
  option.writeUInt16BE(EDNS_COOKIE, 2);
  option.writeUInt16BE(COOKIE_OPTION_BYTES - 4, 4);
  return Buffer.concat([option, cookie.client, mintServerCookie(settings.cookie!.secret, cookie.client, clientAddress, now)]);
}

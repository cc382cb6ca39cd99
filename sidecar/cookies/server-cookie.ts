/**
 * DNS server cookies as RFC 9018 defines them and BIND 9.18 builds them with
 * `cookie-algorithm siphash24`: version 1, three reserved zero bytes, a 32-bit timestamp in
 * seconds, and SipHash-2-4 (keyed by `cookie-secret`) over the client cookie, those 8 bytes
 * and the client's IP address. Pure functions: the caller supplies the time.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from '../net/ip';
import { siphash24 } from './siphash';

export const CLIENT_COOKIE_LENGTH = 8;
export const SERVER_COOKIE_LENGTH = 16;
export const COOKIE_VERSION = 1;
/** BIND accepts a server cookie minted at most this long ago (seconds)... */
export const COOKIE_MAX_AGE_S = 3600;
/** ...and at most this far in the future (clock skew between servers sharing a secret). */
export const COOKIE_MAX_AHEAD_S = 300;

export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return ipv4Bytes(address);
  if (isIPv6(address)) return ipv6Bytes(address);
  throw new RangeError(`${JSON.stringify(address)} is not an IP address`);
}

/** The 16-byte server cookie for `clientCookie` from `clientAddress` at `timestamp` (Unix seconds, taken mod 2^32). */
export function serverCookie(secret: Uint8Array, clientCookie: Uint8Array, clientAddress: string, timestamp: number): Buffer {
  if (clientCookie.length !== CLIENT_COOKIE_LENGTH) throw new RangeError(`a client cookie is ${CLIENT_COOKIE_LENGTH} bytes, not ${clientCookie.length}`);
  if (!Number.isInteger(timestamp) || timestamp < 0) throw new RangeError(`timestamp ${timestamp} is not whole seconds`);
  const head = Buffer.alloc(8);
  head[0] = COOKIE_VERSION;
  head.writeUInt32BE(timestamp % 2 ** 32, 4);
  const hash = siphash24(secret, Buffer.concat([clientCookie, head, addressBytes(clientAddress)]));
  return Buffer.concat([head, hash]);
}

export type ServerCookieVerdict = 'valid' | 'wrong-size' | 'too-old' | 'in-future' | 'mismatch';

/** Whether BIND (and the XDP program) accepts `cookie` from this client at `now` (Unix seconds). */
export function checkServerCookie(
  secret: Uint8Array,
  clientCookie: Uint8Array,
  cookie: Uint8Array,
  clientAddress: string,
  now: number,
): ServerCookieVerdict {
  if (cookie.length !== SERVER_COOKIE_LENGTH) return 'wrong-size';
  const when = Buffer.from(cookie.buffer, cookie.byteOffset, cookie.length).readUInt32BE(4);
  // Serial-number arithmetic on 32-bit seconds, as BIND compares them.
  const diff = (a: number, b: number) => ((a - b) | 0);
  if (diff(when, now + COOKIE_MAX_AHEAD_S) > 0) return 'in-future';
  if (diff(when, now - COOKIE_MAX_AGE_S) < 0) return 'too-old';
  return serverCookie(secret, clientCookie, clientAddress, when).equals(cookie) ? 'valid' : 'mismatch';
}

/** EDNS option code of COOKIE (RFC 7873). */
export const EDNS_COOKIE = 10;

/** The COOKIE option as it appears in OPT RDATA: code, length, client cookie, then the server cookie if any. */
export function cookieOption(clientCookie: Uint8Array, server?: Uint8Array): Buffer {
  const data = Buffer.concat([clientCookie, server ?? Buffer.alloc(0)]);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(EDNS_COOKIE, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

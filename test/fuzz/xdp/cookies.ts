/**
 * COOKIE options (RFC 7873) for generated queries: client cookies, server cookies minted with
 * the settings' secret for the frame's own client address at the program's current second
 * (fresh, about to expire, slightly ahead), and every way one can be wrong: stale, too far
 * ahead, wrong version, reserved bytes set, a flipped hash bit, minted for another address or
 * with another secret, lengths BIND does not recognise, other or extra options, option
 * lengths that disagree with the OPT's, RDATA too short for an option header.
 *
 * A server cookie depends on the address the frame comes from, chosen after the query, so a
 * plan is a function of that address.
 */
import { siphash24 } from '../../../sidecar/cookies/siphash';
import { mintServerCookie, ModelSettings } from '../model';
import { Rng } from '../random';

export interface CookiePlan {
  kind: string;
  rdata: (client: Buffer) => Buffer;
}

const OTHER_SECRET = Buffer.alloc(16, 0x42);
const MAX_AGE_S = 3600;
const MAX_AHEAD_S = 300;

function option(code: number, data: Buffer, declaredLength = data.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(declaredLength & 0xffff, 2);
  return Buffer.concat([head, data]);
}

const cookie = (client: Buffer, server?: Buffer) => option(10, server ? Buffer.concat([client, server]) : client);

/** `now`: the program's wall-clock second as the fuzzer reads it when generating. */
export function cookiePlan(rng: Rng, settings: ModelSettings, now: number): CookiePlan {
  const secret = settings.cookie?.secret ?? OTHER_SECRET;
  const client = rng.bytes(8);
  const minted = (addr: Buffer, age: number, key: Uint8Array = secret) => mintServerCookie(key, client, addr, (now - age) >>> 0);
  const plan = (kind: string, rdata: (addr: Buffer) => Buffer): CookiePlan => ({ kind, rdata });
  const kind = rng.weighted<string>([
    [25, 'client'],
    [25, 'fresh'],
    [6, 'edge'],
    [6, 'stale'],
    [4, 'ahead'],
    [4, 'version'],
    [3, 'reserved'],
    [6, 'hash-bit'],
    [4, 'other-address'],
    [3, 'other-secret'],
    [6, 'odd-length'],
    [8, 'other-options'],
    [3, 'short-rdata'],
  ]);
  switch (kind) {
    case 'client':
      return plan(kind, () => cookie(client));
    case 'fresh':
      return plan(kind, (a) => cookie(client, minted(a, rng.pick([0, 1, 2, 30, 600, 3000, -1, -60]))));
    case 'edge':
      // Either side of the window's ends: judged at the program's second, which the oracle
      // brackets.
      return plan(kind, (a) => cookie(client, minted(a, rng.pick([MAX_AGE_S - 1, MAX_AGE_S, MAX_AGE_S + 1, -MAX_AHEAD_S + 1, -MAX_AHEAD_S, -MAX_AHEAD_S - 1]))));
    case 'stale':
      return plan(kind, (a) => cookie(client, minted(a, rng.pick([MAX_AGE_S + 5, 86400, 2 ** 31 - 1, 2 ** 31, rng.range(MAX_AGE_S + 5, 2 ** 30)]))));
    case 'ahead':
      return plan(kind, (a) => cookie(client, minted(a, -rng.pick([MAX_AHEAD_S + 5, 3600, 2 ** 30, rng.range(MAX_AHEAD_S + 5, 2 ** 30)]))));
    case 'version':
    case 'reserved':
      // Hashed with the odd header too, so only the header check can refuse it.
      return plan(kind, (a) => {
        const s = minted(a, 10);
        if (kind === 'version') s[0] = rng.pick([0, 2, 0x81, 0xff]);
        else s[rng.range(1, 3)] = rng.range(1, 255);
        return cookie(client, Buffer.concat([s.subarray(0, 8), rehash(secret, client, s.subarray(0, 8), a)]));
      });
    case 'hash-bit':
      return plan(kind, (a) => {
        const s = minted(a, 5);
        s[rng.range(8, 15)] ^= 1 << rng.int(8);
        return cookie(client, s);
      });
    case 'other-address':
      return plan(kind, (a) => {
        const other = Buffer.from(a);
        other[other.length - 1] ^= 1 << rng.int(8);
        return cookie(client, minted(other, 5));
      });
    case 'other-secret':
      return plan(kind, (a) => cookie(client, minted(a, 5, OTHER_SECRET)));
    case 'odd-length':
      // RFC 7873 client cookie of other than 8 bytes, or a server cookie of other than 16.
      return plan(kind, (a) => (rng.chance(0.5) ? option(10, rng.bytes(rng.pick([0, 1, 7, 9, 16, 40]))) : cookie(client, Buffer.concat([minted(a, 5), rng.bytes(16)]).subarray(0, rng.pick([1, 8, 15, 17, 24])))));
    case 'other-options':
      return plan(kind, (a) => {
        const c = cookie(client, rng.chance(0.5) ? minted(a, 5) : undefined);
        switch (rng.int(4)) {
          case 0:
            return Buffer.concat([c, option(12, Buffer.alloc(rng.int(8)))]); // and PADDING
          case 1:
            return Buffer.concat([option(8, Buffer.from('00011800', 'hex')), c]); // ECS first
          case 2:
            return option(rng.pick([0, 3, 11, 0x0a00, 65001]), c.subarray(4));
          default: {
            // The option's length disagrees with the OPT RDATA around it.
            const wrong = Buffer.from(c);
            wrong.writeUInt16BE(c.length - 4 + rng.pick([-8, -1, 1, 8, 0x100]), 2);
            return wrong;
          }
        }
      });
    default:
      return plan(kind, () => rng.bytes(rng.range(1, 3)));
  }
}

/** The server cookie's hash over this very header (mintServerCookie writes a valid one). */
function rehash(secret: Uint8Array, client: Buffer, head: Buffer, addr: Buffer): Buffer {
  return siphash24(secret, Buffer.concat([client, head, addr]));
}

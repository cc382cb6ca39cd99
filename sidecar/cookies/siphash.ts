/**
 * SipHash-2-4 (Aumasson and Bernstein), the PRF RFC 9018 uses for interoperable DNS server
 * cookies. A plain reference for tests and the sidecar; the XDP program has its own copy in C.
 */
const MASK = (1n << 64n) - 1n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & MASK;
}

/** The 8-byte digest of `message` under a 16-byte key, in the byte order SipHash outputs it (little-endian). */
export function siphash24(key: Uint8Array, message: Uint8Array): Buffer {
  if (key.length !== 16) throw new RangeError(`a SipHash key is 16 bytes, not ${key.length}`);
  const k = Buffer.from(key.buffer, key.byteOffset, key.length);
  const k0 = k.readBigUInt64LE(0);
  const k1 = k.readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & MASK;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & MASK;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const compress = (m: bigint, rounds: number) => {
    v3 ^= m;
    for (let i = 0; i < rounds; i++) round();
    v0 ^= m;
  };

  const m = Buffer.from(message.buffer, message.byteOffset, message.length);
  const whole = m.length - (m.length % 8);
  for (let off = 0; off < whole; off += 8) compress(m.readBigUInt64LE(off), 2);
  // The last 0..7 bytes, with the message length (mod 256) in the top byte.
  const last = Buffer.alloc(8);
  m.copy(last, 0, whole);
  last[7] = m.length & 0xff;
  compress(last.readBigUInt64LE(0), 2);
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(v0 ^ v1 ^ v2 ^ v3);
  return out;
}

/**
 * IP addresses and prefixes as bytes and text: pure helpers shared by the map codecs, the
 * address match lists and the rate limiter's reference model.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function ipv4Bytes(addr: string): Buffer {
  if (!isIPv4(addr)) throw new RangeError(`${JSON.stringify(addr)} is not an IPv4 address`);
  return Buffer.from(addr.split('.').map(Number));
}

export function ipv6Bytes(addr: string): Buffer {
  if (!isIPv6(addr) || addr.includes('%')) throw new RangeError(`${JSON.stringify(addr)} is not an IPv6 address (without zone)`);
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Bytes(g);
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const [head, tail] = addr.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** RFC 5952 text form: lower case, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** An address's bytes (4 or 16) by family; throws RangeError for text that is not one. */
export function addressBytes(family: 4 | 6, addr: string): Buffer {
  return family === 4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
}

/** `length` leading one bits in a `bytes`-byte mask. */
export function prefixMask(bytes: number, length: number): Buffer {
  const m = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    const bits = Math.max(0, Math.min(8, length - 8 * i));
    m[i] = (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

/**
 * The Internet checksum (RFC 1071) in the pieces XDP needs: partial one's-complement sums of
 * byte ranges that may start at an odd position of the checksummed stream.
 */

/**
 * Adds buf[start, end) to `acc` as big-endian 16-bit words, where buf[start] sits at an odd
 * position of the stream when `odd` is true (it is then the low byte of its word).
 * Returns an unfolded sum; call foldSum before storing it.
 */
export function addBytes(acc: number, buf: Uint8Array, start: number, end: number, odd: boolean): number {
  let sum = acc;
  let i = start;
  if (odd && i < end) sum += buf[i++];
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  // Fold now and then so the accumulator stays an exact integer for any input length.
  return sum > 0x7fffffff ? foldSum(sum) : sum;
}

/** Adds a 16-bit word (e.g. a length or protocol number) to an unfolded sum. */
export function addWord(acc: number, word: number): number {
  return acc + (word & 0xffff);
}

/** Folds carries back in until the sum fits 16 bits (not complemented). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for a stream whose one's-complement sum is `sum`. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/**
 * The writer's side of santa_filter, the program's miss filter (santa_abi.h): a bitmap in map
 * memory where a set bit means "some cached question may have this bit". The program passes a
 * query whose bit is clear as a miss without building its key.
 *
 * Bits are shared by questions (the bit is a function of the first name word, length, type and
 * class), so each bit keeps a count of the installed keys that need it: it is set before the
 * first of them is published and cleared after the last is unpublished. Between the two, the
 * program can only be told "look it up" for a key that is gone, or "absent" for one that is not
 * yet published: either way the query goes to BIND, never to a wrong answer.
 */
import { hostOrder } from './codec';
import { SantaNative } from './native';

export class MissFilter {
  private readonly counts: Uint32Array;
  /** What this writer last stored in each word. */
  private readonly words: BigUint64Array;

  constructor(
    private readonly bpf: SantaNative,
    /** A mapMmap handle of santa_filter. */
    private readonly mem: number,
    bits: number,
  ) {
    this.counts = new Uint32Array(bits);
    this.words = new BigUint64Array(Math.ceil(bits / 64));
  }

  /**
   * Takes over a filter another writer may have left: counts the keys installed now (their
   * bits) and rewrites every word that differs, clearing bits no installed key needs.
   */
  adopt(bits: Iterable<number>): void {
    this.counts.fill(0);
    this.words.fill(0n);
    for (const bit of bits) {
      this.count(bit, 1);
      this.words[bit >> 6] |= 1n << BigInt(bit & 63);
    }
    const current = this.bpf.mapMemRead(this.mem, 0, this.words.length * 8);
    this.words.forEach((w, i) => {
      if (hostOrder.readU64(current, i * 8) !== w) this.store(i, w);
    });
  }

  /** Before publishing a key whose bit this is. */
  add(bit: number): void {
    if (this.count(bit, 1) === 1) this.store(bit >> 6, this.words[bit >> 6] | (1n << BigInt(bit & 63)));
  }

  /** After unpublishing a key whose bit this is. */
  drop(bit: number): void {
    if (this.count(bit, -1) === 0) this.store(bit >> 6, this.words[bit >> 6] & ~(1n << BigInt(bit & 63)));
  }

  /** The bit as the program reads it now (from map memory, not this writer's copy). */
  isSet(bit: number): boolean {
    this.check(bit);
    const word = hostOrder.readU64(this.bpf.mapMemRead(this.mem, (bit >> 6) * 8, 8), 0);
    return ((word >> BigInt(bit & 63)) & 1n) === 1n;
  }

  private count(bit: number, by: 1 | -1): number {
    this.check(bit);
    if (by < 0 && this.counts[bit] === 0) throw new Error(`miss filter: bit ${bit} dropped more often than added`);
    return (this.counts[bit] += by);
  }

  private check(bit: number): void {
    if (!Number.isInteger(bit) || bit < 0 || bit >= this.counts.length) throw new RangeError(`miss filter: bit ${bit} is outside 0..${this.counts.length - 1}`);
  }

  private store(word: number, value: bigint): void {
    this.bpf.mapMemStoreU64(this.mem, word * 8, value);
    this.words[word] = value;
  }
}

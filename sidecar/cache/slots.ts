/**
 * Hit-counter slots: each installed entry owns one index of the per-CPU santa_hits array. A slot is
 * reused only after its entry is deleted from the map, and the controller zeroes it before handing
 * it out, so counts never leak from one question to another.
 */
export class SlotAllocator {
  private readonly free: number[] = [];
  private next = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`slot count must be a positive integer, got ${size}`);
  }

  /** Marks slots already owned by entries adopted from pinned maps after a restart. */
  static adopt(size: number, used: Iterable<number>): SlotAllocator {
    const allocator = new SlotAllocator(size);
    const taken = new Set<number>();
    for (const slot of used) {
      if (!Number.isInteger(slot) || slot < 0 || slot >= size) throw new RangeError(`adopted slot ${slot} is outside 0..${size - 1}`);
      if (taken.has(slot)) throw new Error(`slot ${slot} is owned by two entries`);
      taken.add(slot);
    }
    allocator.next = taken.size === 0 ? 0 : Math.max(...taken) + 1;
    for (let slot = 0; slot < allocator.next; slot++) if (!taken.has(slot)) allocator.free.push(slot);
    return allocator;
  }

  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.next >= this.size) throw new Error(`all ${this.size} hit-counter slots are in use`);
    return this.next++;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  get inUse(): number {
    return this.next - this.free.length;
  }
}

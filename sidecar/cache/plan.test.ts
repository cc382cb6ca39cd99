import { diffEntries, selectWithinCapacity, PlannedEntry } from './plan';
import { SlotAllocator } from './slots';

const entry = (id: string, bytes: number, digest = 'd'): PlannedEntry => ({ id, bytes, digest });

describe('selectWithinCapacity', () => {
  it('stops at the entry limit in rank order', () => {
    const chosen = selectWithinCapacity([entry('a', 10), entry('b', 10), entry('c', 10)], { entries: 2, bytes: 1000 });
    expect(chosen.map((e) => e.id)).toEqual(['a', 'b']);
  });
  it('skips an entry that would overflow the byte budget but keeps smaller ones after it', () => {
    const chosen = selectWithinCapacity([entry('a', 60), entry('big', 50), entry('c', 40)], { entries: 10, bytes: 100 });
    expect(chosen.map((e) => e.id)).toEqual(['a', 'c']);
  });
  it('ignores duplicate ids', () => {
    expect(selectWithinCapacity([entry('a', 1), entry('a', 1)], { entries: 5, bytes: 5 })).toHaveLength(1);
  });
});

describe('diffEntries', () => {
  it('splits desired entries into add, change and keep, and lists removals', () => {
    const installed = new Map([
      ['same', { digest: 'x' }],
      ['changed', { digest: 'old' }],
      ['gone', { digest: 'y' }],
    ]);
    const diff = diffEntries(installed, [entry('same', 1, 'x'), entry('changed', 1, 'new'), entry('fresh', 1, 'z')]);
    expect(diff.keep.map((e) => e.id)).toEqual(['same']);
    expect(diff.change.map((e) => e.id)).toEqual(['changed']);
    expect(diff.add.map((e) => e.id)).toEqual(['fresh']);
    expect(diff.remove).toEqual(['gone']);
  });
});

describe('SlotAllocator', () => {
  it('hands out each slot once and reuses released ones', () => {
    const slots = new SlotAllocator(2);
    const a = slots.allocate();
    const b = slots.allocate();
    expect(new Set([a, b])).toEqual(new Set([0, 1]));
    expect(() => slots.allocate()).toThrow(/all 2 hit-counter slots/);
    slots.release(a);
    expect(slots.allocate()).toBe(a);
  });
  it('adopts slots of pinned entries and fills the holes first', () => {
    const slots = SlotAllocator.adopt(8, [0, 3]);
    expect(slots.inUse).toBe(2);
    const next = [slots.allocate(), slots.allocate(), slots.allocate()];
    expect(new Set(next)).toEqual(new Set([1, 2, 4]));
  });
  it('rejects an adopted slot outside the array or owned twice', () => {
    expect(() => SlotAllocator.adopt(4, [4])).toThrow(/outside/);
    expect(() => SlotAllocator.adopt(4, [1, 1])).toThrow(/two entries/);
  });
});

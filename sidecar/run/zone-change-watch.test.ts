import { ZoneChangeWatch, type ZoneGenMaps } from './zone-change-watch';

/** Generations as the program would bump them; slots chosen by the test. */
class FakeGens implements ZoneGenMaps {
  readonly gens = new Uint32Array(16);
  constructor(private readonly slots: Record<string, number>) {}
  zoneSlot(apex: string): number {
    return this.slots[apex];
  }
  readZoneGens(): Uint32Array {
    return Uint32Array.from(this.gens);
  }
}

describe('ZoneChangeWatch', () => {
  it('reports the zones whose generation moved, once, and every zone sharing the slot', () => {
    const maps = new FakeGens({ 'a.test': 1, 'b.test': 2, 'c.test': 2 });
    maps.gens[1] = 7; // bumped before Santa started: that is the baseline
    const watch = new ZoneChangeWatch(maps, () => ['a.test', 'b.test', 'c.test']);
    expect(watch.poll()).toEqual([]);
    maps.gens[2]++;
    expect(watch.poll()).toEqual(['b.test', 'c.test']);
    expect(watch.poll()).toEqual([]);
    maps.gens[1] += 3;
    expect(watch.poll()).toEqual(['a.test']);
  });

  it('stamps with the generation it acknowledged, not the one the program has moved on to', () => {
    const maps = new FakeGens({ 'a.test': 3 });
    const watch = new ZoneChangeWatch(maps, () => ['a.test']);
    expect(watch.stamp('a.test')).toEqual({ slot: 3, gen: 0 });
    maps.gens[3] = 1; // an UPDATE passed; the watch has not polled yet
    expect(watch.stamp('a.test')).toEqual({ slot: 3, gen: 0 }); // entries stamped now are dead on arrival
    expect(watch.poll()).toEqual(['a.test']);
    expect(watch.stamp('a.test')).toEqual({ slot: 3, gen: 1 });
    expect(() => watch.stamp('other.test')).toThrow(/not watched/);
  });
});

/**
 * User space's side of the zone change guard (xdp/include/santa_abi.h): the XDP program bumps a
 * zone's generation as an UPDATE or NOTIFY for it passes to BIND, which stops the zone's
 * entries at once. This watch reads the generations, reports the zones whose generation moved
 * (santa run withdraws them and holds them until BIND has applied the change), and gives the
 * stamp new entries carry.
 *
 * Stamps are the generations this watch has acknowledged, not the ones in the map: an entry
 * verified against BIND just after an UPDATE passed, but before BIND applied it, would otherwise
 * carry the new generation and hit with the old answer. With the acknowledged one it is dead on
 * arrival, and the zone is verified again after its hold.
 */
import type { ZoneStamp } from '../bpf/codec';

/** What the watch needs of the maps (SantaMaps implements it). */
export interface ZoneGenMaps {
  zoneSlot(apex: string): number;
  readZoneGens(): Uint32Array;
}

export class ZoneChangeWatch {
  private readonly slots = new Map<string, number>();
  /** Generation acknowledged per slot (read at the first poll that saw the slot's zone). */
  private readonly acknowledged = new Map<number, number>();

  constructor(
    private readonly maps: ZoneGenMaps,
    private readonly zones: () => readonly string[],
  ) {
    this.poll();
  }

  /** The zones whose generation moved since the last poll (every zone sharing a moved slot). */
  poll(): string[] {
    const gens = this.maps.readZoneGens();
    const moved = new Set<number>();
    for (const zone of this.zones()) {
      const slot = this.slotOf(zone);
      const gen = gens[slot];
      const seen = this.acknowledged.get(slot);
      if (seen === undefined) this.acknowledged.set(slot, gen);
      else if (seen !== gen) moved.add(slot);
    }
    for (const slot of moved) this.acknowledged.set(slot, gens[slot]);
    return this.zones().filter((zone) => moved.has(this.slotOf(zone)));
  }

  /** The stamp `zone`'s entries get now: they hit until the zone's next change reaches BIND. */
  stamp(zone: string): ZoneStamp {
    const slot = this.slotOf(zone);
    const gen = this.acknowledged.get(slot);
    if (gen === undefined) throw new Error(`zone ${zone} is not watched (no poll has read its generation)`);
    return { slot, gen };
  }

  private slotOf(zone: string): number {
    let slot = this.slots.get(zone);
    if (slot === undefined) {
      slot = this.maps.zoneSlot(zone);
      this.slots.set(zone, slot);
    }
    return slot;
  }
}

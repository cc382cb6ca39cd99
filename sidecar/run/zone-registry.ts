/**
 * The zones Santa may answer for: what named.conf declares, the model parsed from each zone file,
 * and each zone's freshness state. Parsing happens here (file I/O at the edge); the freshness
 * rules are the pure state machine in ../freshness.
 */
import { statSync } from 'node:fs';
import type { SecondaryZoneSource, SignedZoneSource } from '../config/schema';
import type { NamedConf, ZoneConfig } from '../named-conf/read';
import { initialZoneState, nextZoneState, type ZoneActions, type ZoneEvent, type ZoneState } from '../freshness/zone-state';
import { parseZoneFile } from '../zone/parse';
import { soaSerialOffset, type Zone } from '../zone/model';
import { signedFormDiffers, zoneFromTransfer } from '../zone/transfer';

export interface RegisteredZone {
  readonly config: ZoneConfig;
  state: ZoneState;
  /** The model answers are built from; only served while state.status is 'offloaded'. */
  model: Zone | undefined;
  /**
   * Served from a transfer from BIND rather than from its file: a zone named signs
   * (bind.signed_zones: transfer), whose file is still read and watched, a transfer being taken
   * only when it holds the signed form of what the file holds (`unsigned`); or a secondary
   * (bind.secondary_zones: transfer), whose file, named's own copy, is not read at all.
   */
  transfer: boolean;
  /** For a transfer zone: the file's model, as last read. */
  unsigned?: Zone;
  /** Whether Santa reads the zone file (a secondary served from transfers: no). */
  readsFile: boolean;
  /** The files the last parse read (the zone file and its `$INCLUDE`s); the zone file alone before. */
  files: string[];
  /** Size and mtime of those files when last parsed: a change we were not told of shows. */
  stamp: string | undefined;
}

export interface ZoneChange {
  zone: string;
  actions: ZoneActions;
  state: ZoneState;
}

/** Serial from SOA RDATA in uncompressed wire form (MNAME, RNAME, then five 32-bit fields). */
export function soaSerialOf(zone: Zone): number {
  const rdata = zone.soa.rdata[0];
  return rdata.readUInt32BE(soaSerialOffset(rdata));
}

export class ZoneRegistry {
  private readonly zones = new Map<string, RegisteredZone>();
  /** Zones named.conf declares that Santa will not answer for, with the reason. */
  readonly skipped: ReadonlyArray<{ zone: string; reason: string }>;

  /** named's working directory: relative $INCLUDE paths in zone files resolve against it. */
  private readonly directory: string;
  /** Zones named.conf declares that Santa does not answer for (lower case). */
  private readonly unserved = new Set<string>();

  constructor(conf: NamedConf, opts: { signedZones?: SignedZoneSource; secondaryZones?: SecondaryZoneSource } = {}) {
    this.directory = conf.options.directory;
    const skipped: { zone: string; reason: string }[] = [];
    for (const config of conf.zones) {
      const secondaryByTransfer = config.type === 'secondary' && opts.secondaryZones === 'transfer';
      if (!config.offloadable || (config.fileUnreadable && !secondaryByTransfer)) {
        skipped.push({ zone: config.name, reason: config.reason ?? config.fileUnreadable ?? 'no zone file' });
        continue;
      }
      const name = config.name.toLowerCase();
      if (this.zones.has(name)) {
        // The same zone in two views can be answered differently per client: leave it to BIND.
        this.zones.delete(name);
        skipped.push({ zone: config.name, reason: 'declared more than once (views)' });
        continue;
      }
      const transfer = secondaryByTransfer || (config.signedByNamed === true && opts.signedZones === 'transfer');
      // A transferred zone is what BIND serves: its serial is named's, the rule the usual one.
      const state = initialZoneState(name, { signedByNamed: config.signedByNamed === true && !transfer, dynamic: config.dynamic });
      const files = secondaryByTransfer || !config.file ? [] : [config.file];
      this.zones.set(name, { config, state, model: undefined, transfer, readsFile: !secondaryByTransfer, files, stamp: undefined });
    }
    this.skipped = skipped;
    for (const s of skipped) if (!this.zones.has(s.zone.toLowerCase())) this.unserved.add(s.zone.toLowerCase());
  }

  names(): string[] {
    return [...this.zones.keys()];
  }

  get(zone: string): RegisteredZone | undefined {
    return this.zones.get(zone);
  }

  all(): RegisteredZone[] {
    return [...this.zones.values()];
  }

  /** The zone whose data answers `qname` (lower-case presentation form): the longest suffix. */
  zoneFor(qname: string): RegisteredZone | undefined {
    let name = qname.endsWith('.') && qname !== '.' ? qname.slice(0, -1) : qname;
    for (;;) {
      const found = this.zones.get(name === '' ? '.' : name);
      if (found) return found;
      // A zone Santa does not answer for (a forward zone, a secondary it cannot read) holds its
      // names, not the zone above it: BIND answers them from it.
      if (this.unserved.has(name === '' ? '.' : name)) return undefined;
      if (name === '' || name === '.') return undefined;
      const dot = nextLabelBoundary(name);
      name = dot < 0 ? '' : name.slice(dot + 1);
    }
  }

  /** Files whose change means a zone must be re-read: each zone's file and what it includes. */
  zoneFiles(): string[] {
    return [...new Set([...this.zones.values()].flatMap((z) => z.files))];
  }

  /** The zones read from `file` (an included file may serve several). */
  zonesReading(file: string): string[] {
    return [...this.zones].filter(([, z]) => z.files.includes(file)).map(([name]) => name);
  }

  /** Feeds one event to a zone's state machine and returns what the controller must do. */
  apply(zone: string, event: ZoneEvent): ZoneChange {
    const z = this.zones.get(zone);
    if (!z) throw new Error(`zone ${zone} is not registered`);
    const step = nextZoneState(z.state, event);
    z.state = step.state;
    return { zone, actions: step.actions, state: step.state };
  }

  /** Whether the zone file differs from the one last parsed (a missed or coalesced event, or a
   * write still in progress when it was read). */
  changedOnDisk(zone: string): boolean {
    const z = this.zones.get(zone);
    return z !== undefined && z.stamp !== undefined && filesStamp(z.files) !== z.stamp;
  }

  /** Parses a zone's file; a failure affects this zone only. */
  reparse(zone: string): ZoneChange {
    const z = this.zones.get(zone);
    if (!z) throw new Error(`zone ${zone} is not registered`);
    // A secondary served from transfers: nothing to read, the next transfer decides.
    if (!z.readsFile) {
      z.model = undefined;
      return this.apply(zone, { kind: 'superseded' });
    }
    // Stamped before reading: a write during the parse shows as a change at the next poll.
    const before = filesStamp(z.files);
    try {
      const model = parseZoneFile(z.config.file as string, z.config.name, { includeBase: this.directory });
      const files = [...model.sourceFiles];
      z.stamp = sameFiles(files, z.files) ? before : filesStamp(files);
      z.files = files;
      if (z.transfer) {
        // The transfer taken before stands for the old file: the next one must show BIND
        // serves this one (applyTransfer).
        z.unsigned = model;
        z.model = undefined;
        return this.apply(zone, { kind: 'superseded' });
      }
      z.model = model;
      return this.apply(zone, { kind: 'parsed', serial: soaSerialOf(model) });
    } catch (e) {
      // The files it read before stay watched (an include that went missing comes back there).
      z.stamp = before;
      z.model = undefined;
      z.unsigned = undefined;
      return this.apply(zone, { kind: 'parse-failed', error: (e as Error).message });
    }
  }

  /**
   * Takes a transfer of a zone served from one (its raw messages, as dns/axfr.ts returns them).
   * The zone is offloaded from it once its serial is BIND's. A zone named signs that changes only
   * through its file must hold the signed form of the file last read; a dynamic one, or a
   * secondary, is taken as transferred.
   * Returns the change, or why the transfer was not taken (the zone then waits for the next).
   */
  applyTransfer(zone: string, messages: readonly Buffer[], source: string): ZoneChange | { zone: string; refused: string } {
    const z = this.zones.get(zone);
    if (!z || !z.transfer) throw new Error(`zone ${zone} is not served from a transfer`);
    if (z.readsFile && !z.unsigned) return { zone, refused: 'its file has not been read' };
    let signed: Zone;
    try {
      signed = zoneFromTransfer(z.config.name, messages, source);
    } catch (e) {
      return { zone, refused: (e as Error).message };
    }
    if (!z.config.dynamic && z.unsigned) {
      const differs = signedFormDiffers(z.unsigned, signed);
      if (differs) return { zone, refused: `BIND does not serve the zone file yet: ${differs}` };
    }
    z.model = signed;
    return this.apply(zone, { kind: 'parsed', serial: soaSerialOf(signed) });
  }
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

function filesStamp(files: readonly string[]): string {
  return files.map(fileStamp).join(' ');
}

function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

/** Index of the dot that ends the first label, skipping escaped dots ("a\.b.example"). */
function nextLabelBoundary(name: string): number {
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '\\') i += /[0-9]/.test(name[i + 1] ?? '') ? 3 : 1;
    else if (name[i] === '.') return i;
  }
  return -1;
}

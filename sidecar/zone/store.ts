/**
 * Compact storage for a zone's records: a zone may hold millions of them, and one JavaScript
 * object (or Buffer) per record would cost several hundred bytes and most of the parse time in
 * garbage collection. Records live in typed arrays and one byte arena; RRset objects are made
 * only when a lookup asks for a name (see Zone.node).
 *
 * Each name (an id from the zone's NameTable) has a chain of its records in file order
 * (first/next indexes).
 */
import { ByteWriter } from './bytes';

const NONE = -1;

function grow<T extends Int32Array | Uint32Array | Uint16Array>(a: T, size: number): T {
  if (size <= a.length) return a;
  const bigger = new (a.constructor as { new (n: number): T })(Math.max(size, a.length * 2));
  bigger.set(a);
  return bigger;
}

export class RecordStore {
  nodeFirst = new Int32Array(1024);
  nodeLast = new Int32Array(1024);

  rrType = new Uint16Array(4096);
  rrTtl = new Uint32Array(4096);
  rrOffset = new Uint32Array(4096);
  rrLength = new Uint16Array(4096);
  rrNext = new Int32Array(4096);
  rrLine = new Uint32Array(4096);
  rrFile = new Uint16Array(4096);
  rrCount = 0;

  /** RDATA of all records, uncompressed wire form; encoders write straight into it. */
  readonly arena: ByteWriter;

  /** `expectedBytes`: a guess at the RDATA total, to spare growing (and copying) the arena. */
  constructor(expectedBytes = 1 << 16) {
    this.arena = new ByteWriter(Math.max(1 << 16, expectedBytes));
  }

  /** File names by index (for error messages about a record). */
  readonly files: string[] = [];

  /** Names known to the store (ids below this have a record chain, possibly empty). */
  nodeCount = 0;

  /** Makes room for node ids up to `id` (ids are dense: NameTable hands them out in order). */
  addNode(id: number): void {
    if (id < this.nodeCount) return;
    if (id >= this.nodeFirst.length) {
      this.nodeFirst = grow(this.nodeFirst, id + 1);
      this.nodeLast = grow(this.nodeLast, id + 1);
    }
    for (let n = this.nodeCount; n <= id; n++) {
      this.nodeFirst[n] = NONE;
      this.nodeLast[n] = NONE;
    }
    this.nodeCount = id + 1;
  }

  /** Whether the node has records (ids the store has not seen have none). */
  hasRecords(id: number): boolean {
    return id < this.nodeCount && this.nodeFirst[id] !== NONE;
  }

  fileIndex(file: string): number {
    const last = this.files.length - 1;
    if (last >= 0 && this.files[last] === file) return last;
    const found = this.files.indexOf(file);
    if (found >= 0) return found;
    this.files.push(file);
    return this.files.length - 1;
  }

  /** Appends a record whose RDATA was written to the arena at `offset` with `length` bytes. */
  addRecord(node: number, type: number, ttl: number, offset: number, length: number, line: number, file: number): number {
    const rr = this.rrCount++;
    if (rr >= this.rrType.length) {
      const size = rr + 1;
      this.rrType = grow(this.rrType, size);
      this.rrTtl = grow(this.rrTtl, size);
      this.rrOffset = grow(this.rrOffset, size);
      this.rrLength = grow(this.rrLength, size);
      this.rrNext = grow(this.rrNext, size);
      this.rrLine = grow(this.rrLine, size);
      this.rrFile = grow(this.rrFile, size);
    }
    this.rrType[rr] = type;
    this.rrTtl[rr] = ttl;
    this.rrOffset[rr] = offset;
    this.rrLength[rr] = length;
    this.rrNext[rr] = NONE;
    this.rrLine[rr] = line;
    this.rrFile[rr] = file;
    const last = this.nodeLast[node];
    if (last === NONE) this.nodeFirst[node] = rr;
    else this.rrNext[last] = rr;
    this.nodeLast[node] = rr;
    return rr;
  }

  rdata(rr: number): Buffer {
    const at = this.rrOffset[rr];
    return this.arena.buf.subarray(at, at + this.rrLength[rr]);
  }

  /** Whether the RDATA at `offset` equals that of record `rr`. */
  rdataEqualsAt(rr: number, offset: number, length: number): boolean {
    if (this.rrLength[rr] !== length) return false;
    const buf = this.arena.buf;
    const other = this.rrOffset[rr];
    for (let i = 0; i < length; i++) if (buf[offset + i] !== buf[other + i]) return false;
    return true;
  }

  rdataEquals(a: number, b: number): boolean {
    return this.rdataEqualsAt(a, this.rrOffset[b], this.rrLength[b]);
  }

  /** Record indexes of a node, in file order. */
  records(node: number): number[] {
    const out: number[] = [];
    for (let rr = this.nodeFirst[node]; rr !== NONE; rr = this.rrNext[rr]) out.push(rr);
    return out;
  }

  /** Drops the spare capacity once loading is done. */
  trim(): void {
    const n = this.rrCount;
    this.rrType = this.rrType.slice(0, n);
    this.rrTtl = this.rrTtl.slice(0, n);
    this.rrOffset = this.rrOffset.slice(0, n);
    this.rrLength = this.rrLength.slice(0, n);
    this.rrNext = this.rrNext.slice(0, n);
    this.rrLine = this.rrLine.slice(0, n);
    this.rrFile = this.rrFile.slice(0, n);
    this.nodeFirst = this.nodeFirst.slice(0, this.nodeCount);
    this.nodeLast = this.nodeLast.slice(0, this.nodeCount);
    this.arena.trim();
  }
}

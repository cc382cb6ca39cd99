/**
 * Compact storage for a zone's records: a zone may hold millions of them, and one JavaScript
 * object (or Buffer) per record would cost several hundred bytes and most of the parse time in
 * garbage collection. Records live in typed arrays and one byte arena; RRset objects are made
 * only when a lookup asks for a name (see Zone.node).
 *
 * Each name has a chain of its records in file order (first/next indexes).
 */

const NONE = -1;

function grow<T extends Int32Array | Uint32Array | Uint16Array>(a: T, size: number): T {
  if (size <= a.length) return a;
  const bigger = new (a.constructor as { new (n: number): T })(Math.max(size, a.length * 2));
  bigger.set(a);
  return bigger;
}

export class RecordStore {
  /** Owner names (zone file case) by node id. */
  readonly names: string[] = [];
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

  arena = Buffer.allocUnsafe(1 << 16);
  arenaUsed = 0;

  /** File names by index (for error messages about a record). */
  readonly files: string[] = [];

  get nodeCount(): number {
    return this.names.length;
  }

  addNode(name: string): number {
    const id = this.names.length;
    this.names.push(name);
    this.nodeFirst = grow(this.nodeFirst, id + 1);
    this.nodeLast = grow(this.nodeLast, id + 1);
    this.nodeFirst[id] = NONE;
    this.nodeLast[id] = NONE;
    return id;
  }

  fileIndex(file: string): number {
    const last = this.files.length - 1;
    if (last >= 0 && this.files[last] === file) return last;
    const found = this.files.indexOf(file);
    if (found >= 0) return found;
    this.files.push(file);
    return this.files.length - 1;
  }

  /** Room for `n` more RDATA bytes; returns the offset to write them at. */
  reserve(n: number): number {
    if (this.arenaUsed + n > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + n));
      this.arena.copy(bigger, 0, 0, this.arenaUsed);
      this.arena = bigger;
    }
    return this.arenaUsed;
  }

  /** Appends a record whose RDATA was written at `offset` (from reserve) with `length` bytes. */
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
    this.arenaUsed = Math.max(this.arenaUsed, offset + length);
    const last = this.nodeLast[node];
    if (last === NONE) this.nodeFirst[node] = rr;
    else this.rrNext[last] = rr;
    this.nodeLast[node] = rr;
    return rr;
  }

  addRdata(node: number, type: number, ttl: number, rdata: Buffer, line: number, file: number): number {
    const at = this.reserve(rdata.length);
    rdata.copy(this.arena, at);
    return this.addRecord(node, type, ttl, at, rdata.length, line, file);
  }

  rdata(rr: number): Buffer {
    const at = this.rrOffset[rr];
    return this.arena.subarray(at, at + this.rrLength[rr]);
  }

  rdataEquals(a: number, b: number): boolean {
    const len = this.rrLength[a];
    if (len !== this.rrLength[b]) return false;
    return this.arena.compare(this.arena, this.rrOffset[b], this.rrOffset[b] + len, this.rrOffset[a], this.rrOffset[a] + len) === 0;
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
    this.nodeFirst = this.nodeFirst.slice(0, this.names.length);
    this.nodeLast = this.nodeLast.slice(0, this.names.length);
    this.arena = Buffer.from(this.arena.subarray(0, this.arenaUsed));
  }
}

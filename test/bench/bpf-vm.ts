/**
 * A small eBPF interpreter that counts what an XDP program executes: instructions, map lookups
 * and helper calls, for the one path a given frame takes. This machine cannot count them in the
 * kernel (lockdown: no perf, no JIT dump), and the benchmarks' nanoseconds alone do not say
 * whether a stage is slow because it does much or because what it does stalls.
 *
 * It runs the program as compiled (the object file's instructions, before the verifier inlines
 * array lookups), on a frame in a page with the kernel's 256 bytes of headroom, against map
 * contents the caller supplies (read from the real maps). Only what santa_xdp's paths use is
 * modelled: array and per-CPU array maps, one CPU, the XDP helpers below and BPF-to-BPF calls.
 * Anything else throws, so a count is never of a path the model got wrong; bpf-vm.test.ts checks
 * its output frames against BPF_PROG_TEST_RUN's. Benchmarks only.
 */
import { readFileSync } from 'fs';

const MASK64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => v & MASK64;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const u32 = (v: bigint): bigint => v & 0xffffffffn;
const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** An object file's program: its section's instructions with .text's after them. */
export interface BpfProgram {
  insns: Insn[];
  /** Where the program starts (its section may hold several). */
  entry: number;
  /** Instruction index -> map name, for the ld_imm64 instructions that load a map. */
  mapLoads: Map<number, string>;
  /** Instruction index -> target index, for BPF-to-BPF calls. */
  calls: Map<number, number>;
}

/** The map types the model runs on (linux/bpf.h). */
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;

/** Reads program `name` of `section` from a little-endian BPF ELF object. */
export function readBpfObject(path: string, section: string, name: string): BpfProgram {
  const elf = readFileSync(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const sh = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * 64;
    return { name: elf.readUInt32LE(o), type: elf.readUInt32LE(o + 4), offset: Number(elf.readBigUInt64LE(o + 24)), size: Number(elf.readBigUInt64LE(o + 32)), link: elf.readUInt32LE(o + 40), info: elf.readUInt32LE(o + 44) };
  });
  const cstr = (off: number) => elf.toString('latin1', off, elf.indexOf(0, off));
  const names = sh.map((s) => cstr(sh[shstrndx].offset + s.name));
  const index = (name: string) => names.indexOf(name);
  const symtab = sh.find((s) => s.type === 2);
  if (!symtab) throw new Error(`${path}: no symbol table`);
  const symbols = Array.from({ length: symtab.size / 24 }, (_, i) => {
    const o = symtab.offset + i * 24;
    return { name: cstr(sh[symtab.link].offset + elf.readUInt32LE(o)), shndx: elf.readUInt16LE(o + 6), value: Number(elf.readBigUInt64LE(o + 8)) };
  });
  const decode = (s: (typeof sh)[number]): Insn[] =>
    Array.from({ length: s.size / 8 }, (_, i) => {
      const o = s.offset + i * 8;
      return { code: elf[o], dst: elf[o + 1] & 0xf, src: elf[o + 1] >> 4, off: elf.readInt16LE(o + 2), imm: elf.readInt32LE(o + 4) };
    });
  const progIdx = index(section);
  const textIdx = index('.text');
  if (progIdx < 0) throw new Error(`${path}: no section ${section}`);
  const prog = decode(sh[progIdx]);
  const text = textIdx >= 0 ? decode(sh[textIdx]) : [];
  const insns = [...prog, ...text];

  // Map layouts live in BTF, which this reader does not parse: the caller's map images carry
  // them (MapImage), read from the loaded maps.
  const mapsIdx = index('.maps');
  const mapLoads = new Map<number, string>();
  const calls = new Map<number, number>();
  for (const [secIdx, base] of [[progIdx, 0], [textIdx, prog.length]] as const) {
    if (secIdx < 0) continue;
    const rel = sh.find((s) => s.type === 9 && s.info === secIdx);
    if (!rel) continue;
    for (let o = rel.offset; o < rel.offset + rel.size; o += 16) {
      const at = base + Number(elf.readBigUInt64LE(o)) / 8;
      const info = elf.readBigUInt64LE(o + 8);
      const sym = symbols[Number(info >> 32n)];
      const type = Number(info & 0xffffffffn);
      if (type === 1 && sym.shndx === mapsIdx) mapLoads.set(at, sym.name);
      else if (type === 10 && sym.shndx === textIdx) calls.set(at, prog.length + sym.value / 8);
      else throw new Error(`${path}: relocation of type ${type} to ${sym.name || `section ${names[sym.shndx]}`} at instruction ${at} is not modelled`);
    }
  }
  // Calls within one section carry their target in imm; record those too.
  insns.forEach((ins, i) => {
    if (ins.code === 0x85 && ins.src === 1 && !calls.has(i)) calls.set(i, i + 1 + ins.imm);
  });
  const sym = symbols.find((s) => s.name === name && s.shndx === progIdx);
  if (!sym) throw new Error(`${path}: no program ${name} in section ${section}`);
  return { insns, entry: sym.value / 8, mapLoads, calls };
}

/** One map's contents as the program sees them (one CPU's values for per-CPU maps). */
export interface MapImage {
  type: number;
  valueSize: number;
  maxEntries: number;
  /** maxEntries values back to back. */
  values: Buffer;
}

export interface VmCounts {
  instructions: number;
  /** Instruction index -> times executed. */
  byInsn: Map<number, number>;
  mapLookups: number;
  /** Helper id -> calls, other than map lookups. */
  helpers: Map<number, number>;
  bpfCalls: number;
}

export interface VmResult {
  retval: number;
  /** The frame from its start to its end after the run. */
  frame: Buffer;
  counts: VmCounts;
}

interface Region {
  base: bigint;
  bytes: Buffer;
  name: string;
}

const HELPER = { lookup: 1, ktime: 5, adjustHead: 44, adjustTail: 65, jiffies64: 118, loadBytes: 189, storeBytes: 190 } as const;
const HEADROOM = 256; // XDP_PACKET_HEADROOM
const FRAME_RESERVED = 40; // struct xdp_frame at the page's start, which adjust_head keeps clear
const PAGE = 4096;
const TAILROOM_RESERVED = 320; // skb_shared_info at the page's end
const EINVAL = u64(-22n);

/**
 * Runs `prog` on `frame` with `maps` (name -> contents; written to in place, as the program
 * would) and returns what it returned, the frame after it and what it executed. `jiffies` is
 * what bpf_jiffies64 returns. Throws on anything the model does not cover, or after
 * `maxInstructions` (a loop the verifier would have bounded is not expected to run long).
 */
export function runXdp(prog: BpfProgram, maps: Map<string, MapImage>, frame: Buffer, opts: { jiffies: bigint; maxInstructions?: number }): VmResult {
  const regions: Region[] = [];
  const region = (name: string, bytes: Buffer): Region => {
    const r = { base: BigInt(regions.length + 1) << 36n, bytes, name };
    regions.push(r);
    return r;
  };
  const page = region('frame page', Buffer.alloc(PAGE));
  frame.copy(page.bytes, HEADROOM);
  let data = page.base + BigInt(HEADROOM);
  let dataEnd = data + BigInt(frame.length);
  const ctx = region('ctx', Buffer.alloc(24));
  const mapRegions = new Map<string, Region>();
  const mapHandles = new Map<bigint, string>();
  [...maps.entries()].forEach(([name, image], i) => {
    if (image.type !== BPF_MAP_TYPE_ARRAY && image.type !== BPF_MAP_TYPE_PERCPU_ARRAY) return;
    mapRegions.set(name, region(`map ${name}`, image.values));
    mapHandles.set(BigInt(0xdead0000 + i), name);
  });
  const handleOf = new Map([...mapHandles.entries()].map(([h, n]) => [n, h]));

  const resolve = (addr: bigint, size: number, what: string): { r: Region; at: number } => {
    for (const r of regions) {
      if (addr >= r.base && addr + BigInt(size) <= r.base + BigInt(r.bytes.length)) return { r, at: Number(addr - r.base) };
    }
    throw new Error(`bpf-vm: ${what} of ${size} bytes at 0x${addr.toString(16)} is outside every region`);
  };
  const load = (addr: bigint, size: number): bigint => {
    const { r, at } = resolve(addr, size, 'load');
    if (r === ctx) {
      // struct xdp_md: data, data_end, data_meta as 32-bit fields the kernel turns into pointers.
      if (size !== 4 || at > 8 || at % 4) throw new Error(`bpf-vm: ctx load of ${size} bytes at ${at}`);
      return [data, dataEnd, data][at / 4];
    }
    if (r === page && (addr < data || addr + BigInt(size) > dataEnd)) throw new Error(`bpf-vm: packet load outside data..data_end at ${addr - data}`);
    switch (size) {
      case 1: return BigInt(r.bytes[at]);
      case 2: return BigInt(r.bytes.readUInt16LE(at));
      case 4: return BigInt(r.bytes.readUInt32LE(at));
      default: return r.bytes.readBigUInt64LE(at);
    }
  };
  const store = (addr: bigint, size: number, v: bigint): void => {
    const { r, at } = resolve(addr, size, 'store');
    if (r === ctx) throw new Error('bpf-vm: store to ctx');
    if (r === page && (addr < data || addr + BigInt(size) > dataEnd)) throw new Error(`bpf-vm: packet store outside data..data_end at ${addr - data}`);
    switch (size) {
      case 1: r.bytes[at] = Number(v & 0xffn); break;
      case 2: r.bytes.writeUInt16LE(Number(v & 0xffffn), at); break;
      case 4: r.bytes.writeUInt32LE(Number(u32(v)), at); break;
      default: r.bytes.writeBigUInt64LE(u64(v), at);
    }
  };
  const copyPacket = (off: bigint, buf: bigint, len: bigint, toPacket: boolean): bigint => {
    if (off < 0n || len <= 0n || data + off + len > dataEnd) return EINVAL;
    const p = resolve(data + off, Number(len), 'packet copy');
    const b = resolve(buf, Number(len), 'buffer copy');
    if (toPacket) b.r.bytes.copy(p.r.bytes, p.at, b.at, b.at + Number(len));
    else p.r.bytes.copy(b.r.bytes, b.at, p.at, p.at + Number(len));
    return 0n;
  };

  const counts: VmCounts = { instructions: 0, byInsn: new Map(), mapLookups: 0, helpers: new Map(), bpfCalls: 0 };
  const helper = (id: number, r: bigint[]): bigint => {
    if (id === HELPER.lookup) {
      counts.mapLookups++;
      const name = mapHandles.get(r[1]);
      if (name === undefined) throw new Error(`bpf-vm: map lookup on 0x${r[1].toString(16)}, not a modelled map`);
      const image = maps.get(name)!;
      const key = Number(load(r[2], 4));
      return key < image.maxEntries ? mapRegions.get(name)!.base + BigInt(key * image.valueSize) : 0n;
    }
    counts.helpers.set(id, (counts.helpers.get(id) ?? 0) + 1);
    switch (id) {
      case HELPER.jiffies64:
        return opts.jiffies;
      case HELPER.ktime:
        return process.hrtime.bigint();
      case HELPER.adjustHead: {
        const next = data + s32(r[2]);
        if (next < page.base + BigInt(FRAME_RESERVED) || next > dataEnd - 14n) return EINVAL;
        data = next;
        return 0n;
      }
      case HELPER.adjustTail: {
        const next = dataEnd + s32(r[2]);
        if (next > page.base + BigInt(PAGE - TAILROOM_RESERVED) || next < data + 14n) return EINVAL;
        if (next > dataEnd) page.bytes.fill(0, Number(dataEnd - page.base), Number(next - page.base));
        dataEnd = next;
        return 0n;
      }
      case HELPER.loadBytes:
        return copyPacket(r[2], r[3], r[4], false);
      case HELPER.storeBytes:
        return copyPacket(r[2], r[3], r[4], true);
      default:
        throw new Error(`bpf-vm: helper ${id} is not modelled`);
    }
  };

  const max = opts.maxInstructions ?? 100_000;
  const frames: Array<{ ret: number; saved: bigint[]; stack: Region }> = [];
  let stack = region('stack', Buffer.alloc(512));
  const reg: bigint[] = new Array(11).fill(0n);
  reg[1] = ctx.base;
  reg[10] = stack.base + 512n;
  let pc = prog.entry;
  for (;;) {
    if (++counts.instructions > max) throw new Error(`bpf-vm: more than ${max} instructions`);
    counts.byInsn.set(pc, (counts.byInsn.get(pc) ?? 0) + 1);
    const ins = prog.insns[pc];
    if (!ins) throw new Error(`bpf-vm: ran off the program at ${pc}`);
    const cls = ins.code & 7;
    const op = ins.code & 0xf0;
    const useReg = (ins.code & 8) !== 0;
    const imm = BigInt(ins.imm);
    pc++;
    if (cls === 7 || cls === 4) {
      const wide = cls === 7;
      const a = wide ? reg[ins.dst] : u32(reg[ins.dst]);
      const b = useReg ? (wide ? reg[ins.src] : u32(reg[ins.src])) : wide ? u64(imm) : u32(imm);
      const bits = wide ? 64n : 32n;
      const mask = wide ? MASK64 : 0xffffffffn;
      const signed = (v: bigint) => (wide ? s64(v) : s32(v));
      let v: bigint;
      switch (op) {
        case 0x00: v = a + b; break;
        case 0x10: v = a - b; break;
        case 0x20: v = a * b; break;
        case 0x30: v = b === 0n ? 0n : a / b; break;
        case 0x40: v = a | b; break;
        case 0x50: v = a & b; break;
        case 0x60: v = a << (b & (bits - 1n)); break;
        case 0x70: v = a >> (b & (bits - 1n)); break;
        case 0x80: v = -a; break;
        case 0x90: v = b === 0n ? a : a % b; break;
        case 0xa0: v = a ^ b; break;
        case 0xb0: v = b; break;
        case 0xc0: v = signed(a) >> (b & (bits - 1n)); break;
        case 0xd0: {
          // Byte order: to little-endian truncates (this is a little-endian model), to big swaps.
          const n = ins.imm / 8;
          const x = reg[ins.dst] & ((1n << BigInt(ins.imm)) - 1n);
          if (!useReg) v = x;
          else {
            v = 0n;
            for (let i = 0; i < n; i++) v |= ((x >> BigInt(8 * i)) & 0xffn) << BigInt(8 * (n - 1 - i));
          }
          reg[ins.dst] = v;
          continue;
        }
        default: throw new Error(`bpf-vm: ALU op 0x${ins.code.toString(16)} at ${pc - 1}`);
      }
      reg[ins.dst] = v & mask;
      continue;
    }
    if (cls === 5 || cls === 6) {
      if (op === 0x80) {
        if (ins.src === 1) {
          const target = prog.calls.get(pc - 1);
          if (target === undefined) throw new Error(`bpf-vm: call at ${pc - 1} without a target`);
          counts.bpfCalls++;
          frames.push({ ret: pc, saved: reg.slice(6, 11), stack });
          stack = region('stack', Buffer.alloc(512));
          reg[10] = stack.base + 512n;
          pc = target;
        } else {
          reg[0] = helper(ins.imm, reg);
          for (let i = 1; i <= 5; i++) reg[i] = 0n; // clobbered
        }
        continue;
      }
      if (op === 0x90) {
        const f = frames.pop();
        if (!f) break;
        reg.splice(6, 5, ...f.saved);
        stack = f.stack;
        pc = f.ret;
        continue;
      }
      const wide = cls === 5;
      const a = wide ? reg[ins.dst] : u32(reg[ins.dst]);
      const b = useReg ? (wide ? reg[ins.src] : u32(reg[ins.src])) : wide ? u64(imm) : u32(imm);
      const sa = wide ? s64(a) : s32(a);
      const sb = wide ? s64(b) : s32(b);
      let take: boolean;
      switch (op) {
        case 0x00: take = true; break;
        case 0x10: take = a === b; break;
        case 0x20: take = a > b; break;
        case 0x30: take = a >= b; break;
        case 0x40: take = (a & b) !== 0n; break;
        case 0x50: take = a !== b; break;
        case 0x60: take = sa > sb; break;
        case 0x70: take = sa >= sb; break;
        case 0xa0: take = a < b; break;
        case 0xb0: take = a <= b; break;
        case 0xc0: take = sa < sb; break;
        case 0xd0: take = sa <= sb; break;
        default: throw new Error(`bpf-vm: jump op 0x${ins.code.toString(16)} at ${pc - 1}`);
      }
      if (take) pc += ins.off;
      continue;
    }
    const size = [4, 2, 1, 8][(ins.code >> 3) & 3];
    if (ins.code === 0x18) {
      const next = prog.insns[pc];
      pc++;
      const map = prog.mapLoads.get(pc - 2);
      if (map !== undefined) {
        const h = handleOf.get(map);
        if (h === undefined) throw new Error(`bpf-vm: the program loads map ${map}, which has no contents here`);
        reg[ins.dst] = h;
      } else if (ins.src === 0) {
        reg[ins.dst] = u32(imm) | (u32(BigInt(next.imm)) << 32n);
      } else {
        throw new Error(`bpf-vm: ld_imm64 with source ${ins.src} at ${pc - 2}`);
      }
      continue;
    }
    const mode = ins.code & 0xe0;
    if (cls === 1 && mode === 0x60) {
      reg[ins.dst] = load(u64(reg[ins.src] + BigInt(ins.off)), size);
      continue;
    }
    if ((cls === 2 || cls === 3) && mode === 0x60) {
      store(u64(reg[ins.dst] + BigInt(ins.off)), size, cls === 3 ? reg[ins.src] : u64(imm));
      continue;
    }
    if (cls === 3 && mode === 0xc0 && ins.imm === 0 && (size === 4 || size === 8)) {
      const addr = u64(reg[ins.dst] + BigInt(ins.off));
      store(addr, size, load(addr, size) + reg[ins.src]);
      continue;
    }
    throw new Error(`bpf-vm: instruction 0x${ins.code.toString(16)} at ${pc - 1} is not modelled`);
  }
  const retval = Number(u32(reg[0]));
  const start = Number(data - page.base);
  return { retval, frame: Buffer.from(page.bytes.subarray(start, start + Number(dataEnd - data))), counts };
}

/**
 * Shared set-up for the BPF tests: builds the native binding and the fixture objects (make is
 * incremental), and gives each suite a private bpffs mount for pins, so tests never touch
 * /sys/fs/bpf and leave nothing behind.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { hostOrder } from '../../sidecar/bpf/codec';
import { isBpfError } from '../../sidecar/bpf/native';

export const REPO = resolve(__dirname, '../..');
export const FIXTURES = join(__dirname, 'fixtures', 'build');
export const FIXTURE_OBJ = join(FIXTURES, 'fixture.bpf.o');
export const SANTA_MAPS_OBJ = join(FIXTURES, 'santa_maps.bpf.o');
export const INVALID_OBJ = join(FIXTURES, 'invalid.bpf.o');
export const SANTA_OBJ = join(REPO, 'xdp', 'build', 'santa.bpf.o');

export const XDP_PASS = 2;
export const XDP_TX = 3;

function make(args: string[]): void {
  try {
    execFileSync('make', ['-s', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`make ${args.join(' ')} failed:\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? err.message}`);
  }
}

export function buildNativeAndFixtures(): void {
  make(['-C', 'xdp', 'build/santa_native.node']);
  make(['-C', 'test/bpf/fixtures']);
}

/** Builds xdp/build/santa.bpf.o; throws with the compiler's output if it does not build. */
export function buildSantaObject(): void {
  make(['-C', 'xdp', 'build/santa.bpf.o']);
}

export interface Bpffs {
  readonly dir: string;
  unmount(): void;
}

/** A fresh bpffs instance on a temporary directory (every mount of bpffs is its own). */
export function mountPrivateBpffs(): Bpffs {
  const dir = mkdtempSync(join(tmpdir(), 'santa-bpffs-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', [dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      rmdirSync(dir);
    },
  };
}

export function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

export function exists(path: string): boolean {
  return existsSync(path);
}

/** A u32 map key in host byte order. */
export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  hostOrder.writeU32(b, 0, n);
  return b;
}

/** A u64 (fx_hash key, per-CPU counter) in host byte order. */
export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  hostOrder.writeU64(b, 0, BigInt(n));
  return b;
}

export function readU64(b: Buffer, off = 0): bigint {
  return hostOrder.readU64(b, off);
}

/** The network namespace this thread is in: the binding must always come back to it. */
export const ownNetns = (): string => readlinkSync('/proc/thread-self/ns/net');

/** "CODE: message" of the BpfError `fn` throws (anything else is rethrown). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!isBpfError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
  throw new Error('expected the call to throw');
}

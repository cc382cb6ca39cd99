/**
 * Preconditions for tests that use the real kernel and real daemons.
 *
 * Such tests must fail loudly when they cannot run, never skip: call these from `beforeAll`.
 *
 *   beforeAll(() => requireRoot('XDP end-to-end'));
 *   beforeAll(() => requireTools('BIND runner', ['named', 'rndc']));
 *
 * requireRoot checks uid 0, the capabilities BPF and network namespaces need, that the bpf()
 * syscall works (through bpftool), and that a bpffs is mounted at /sys/fs/bpf (mounting one
 * if not, as systemd does on most hosts, so pinning works on a bare CI container too).
 */
import { execFileSync } from 'child_process';
import { accessSync, constants, readFileSync } from 'fs';
import { delimiter, join } from 'path';

export const BPFFS = '/sys/fs/bpf';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;
const CAP_PERFMON = 38;

let rootChecked = false;

export class PreconditionError extends Error {
  constructor(what: string, problem: string) {
    super(
      `${what} cannot run: ${problem}\n` +
        'These tests need the real kernel and daemons and fail instead of skipping. ' +
        'Run them as root on Debian 12 (`npm test` installs what is missing through deploy/install-deps.sh).',
    );
    this.name = 'PreconditionError';
  }
}

/** Throws a PreconditionError unless this process can load BPF programs and manage namespaces. */
export function requireRoot(what: string): void {
  if (rootChecked) return;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new PreconditionError(what, `it runs as uid ${process.getuid?.() ?? '?'}, not root`);
  }
  const missing = missingCapabilities();
  if (missing.length > 0) {
    throw new PreconditionError(what, `root lacks capabilities ${missing.join(', ')} (a restricted container?)`);
  }
  requireTools(what, ['bpftool', 'ip', 'nsenter', 'mount']);
  ensureBpffs(what);
  try {
    execFileSync('bpftool', ['prog', 'show'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (e) {
    throw new PreconditionError(what, `the bpf() syscall does not work here: ${stderrOf(e)}`);
  }
  rootChecked = true;
}

/** Throws a PreconditionError naming every tool in `tools` that is not on PATH. */
export function requireTools(what: string, tools: readonly string[]): void {
  const missing = tools.filter((t) => findOnPath(t) === undefined);
  if (missing.length > 0) {
    throw new PreconditionError(what, `missing programs: ${missing.join(', ')} (deploy/install-deps.sh installs them)`);
  }
}

export function findOnPath(tool: string): string | undefined {
  // Root's PATH may lack the sbin directories when started from a user shell through sudo.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not in this directory */
    }
  }
  return undefined;
}

function missingCapabilities(): string[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) return ['(CapEff unreadable)'];
  const eff = BigInt(`0x${hex}`);
  const has = (bit: number) => (eff >> BigInt(bit)) & 1n;
  const missing: string[] = [];
  if (!has(CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (!has(CAP_SYS_ADMIN)) missing.push('CAP_SYS_ADMIN');
  // Kernels since 5.8 split CAP_BPF and CAP_PERFMON out of CAP_SYS_ADMIN; loading an XDP program
  // that reads maps and the clock needs both (or CAP_SYS_ADMIN on older kernels, covered above).
  if (!has(CAP_BPF)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON)) missing.push('CAP_PERFMON');
  return missing;
}

function bpffsMounted(): boolean {
  // mountinfo fields: ... mount-point(5th) ... " - " fstype source options
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => {
      const [pre, post] = line.split(' - ');
      if (!post) return false;
      return pre.split(' ')[4] === BPFFS && post.split(' ')[0] === 'bpf';
    });
}

function ensureBpffs(what: string): void {
  if (bpffsMounted()) return;
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpffs', BPFFS], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (e) {
    throw new PreconditionError(what, `no bpffs at ${BPFFS} and mounting one failed: ${stderrOf(e)}`);
  }
  if (!bpffsMounted()) throw new PreconditionError(what, `mounted a bpffs at ${BPFFS} but it is not visible`);
}

function stderrOf(e: unknown): string {
  const err = e as { stderr?: Buffer; message?: string };
  return err.stderr?.toString().trim() || err.message || String(e);
}

/**
 * Starts a real bpfman-rpc 0.6.0 for a test, and stops it.
 *
 * bpfman reads its configuration only from /etc/bpfman/bpfman.toml (no flag). To give the test
 * its own toml (verify_enabled = false, per-interface XDP modes) without touching the host's
 * /etc, the daemon runs in a private mount namespace (unshare) where a temporary directory is
 * bind-mounted over /etc/bpfman. Everything else it must share with the test stays shared:
 *   - its bpffs at /run/bpfman/fs is mounted here first, so the namespace inherits the same
 *     filesystem and the maps it pins are visible to the test (bpfman mounts its own only when
 *     none is there, and that one would be invisible outside);
 *   - /run/netns is a shared mount and the namespace a slave of it, so network namespaces the
 *     test creates later can still be named in Attach.
 * bpfman's state (/run/bpfman/db) is host-wide, so a lock file keeps two test daemons apart.
 *
 * bpfman refuses to start unless it can raise RLIMIT_MEMLOCK to unlimited. Some sandboxes give
 * root every capability but CAP_SYS_RESOURCE, so that fails although the kernel (>= 5.11)
 * charges BPF memory to the memory cgroup and ignores the limit. Only there, and only for the
 * daemon, a tiny LD_PRELOAD shim turns that one EPERM into success (see MEMLOCK_SHIM_C); on a
 * normal host the real call succeeds and no shim is used.
 *
 * A missing bpfman-rpc is an error, never a skip: deploy/install-deps.sh (CI) builds it.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'fs';
import { homedir, tmpdir } from 'os';
import { join } from 'path';
import { BpfmanClient } from '../../sidecar/loader/bpfman/client';
import { pidAlive, run, sleep, startBackground, type Background } from './process';
import { PreconditionError, findOnPath, requireRoot, requireTools } from './require-root';

export const BPFMAN_FS = '/run/bpfman/fs';
const NETNS_DIR = '/run/netns';
const LOCK_FILE = '/run/santa-test-bpfman.lock';

export interface BpfmanOptions {
  /** bpfman's XDP mode per interface name: drv (native), skb (generic) or hw. */
  xdpModes?: Record<string, 'drv' | 'skb' | 'hw'>;
  /** RUST_LOG for the daemon; its output is kept for error messages. */
  logLevel?: string;
  /** How long to wait for another test's daemon to finish; default 180 s. */
  lockTimeoutMs?: number;
}

export interface BpfmanDaemon {
  readonly socketPath: string;
  readonly pid: number;
  /** A client on the daemon's socket (closed by stop()). */
  readonly client: BpfmanClient;
  /** What the daemon printed (tail), for failure messages. */
  output(): string;
  /** SIGTERM (SIGKILL after a grace period), then removes the socket, toml and lock. */
  stop(): Promise<void>;
}

/** The bpfman-rpc binary: $BPFMAN_RPC, PATH, or cargo's install directory. */
export function findBpfmanRpc(): string | undefined {
  const fromEnv = process.env.BPFMAN_RPC;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return findOnPath('bpfman-rpc') ?? [join(homedir(), '.cargo/bin/bpfman-rpc'), '/root/.cargo/bin/bpfman-rpc'].find(existsSync);
}

const MEMLOCK_SHIM_C = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>
/* Test-only: RLIMIT_MEMLOCK cannot be raised without CAP_SYS_RESOURCE, and kernels >= 5.11 do
 * not use it for BPF. Every other limit, and every other error, is passed through. */
int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
	int (*real)(__rlimit_resource_t, const struct rlimit *) = dlsym(RTLD_NEXT, "setrlimit");
	int rc = real(resource, rlim);
	if (rc != 0 && errno == EPERM && resource == RLIMIT_MEMLOCK)
		return 0;
	return rc;
}
`;

/** True when this process may raise RLIMIT_MEMLOCK to unlimited, as bpfman insists on. */
async function memlockRaisable(): Promise<boolean> {
  const r = await run(['prlimit', '--memlock=unlimited:unlimited', 'true'], { allowFailure: true });
  return r.code === 0;
}

async function buildMemlockShim(dir: string): Promise<string> {
  const source = join(dir, 'memlock-shim.c');
  const library = join(dir, 'memlock-shim.so');
  writeFileSync(source, MEMLOCK_SHIM_C);
  await run(['cc', '-O2', '-shared', '-fPIC', '-o', library, source, '-ldl']);
  return library;
}

/**
 * bpfman keeps its programs across daemon restarts, so programs of a test process that died
 * before its cleanup are still there; tests tag theirs with santa_instance test-<pid> or
 * probe-<pid>. Unloads those whose process is gone; returns their ids.
 */
export async function unloadStaleTestPrograms(client: BpfmanClient): Promise<number[]> {
  const stale = (await client.list()).filter((p) => {
    const m = /^(?:test|probe)-(\d+)$/.exec(p.metadata.santa_instance ?? '');
    return m !== null && !pidAlive(Number(m[1]));
  });
  for (const p of stale) await client.unload(p.id);
  return stale.map((p) => p.id);
}

/**
 * bpfman runs every XDP program as an extension (BPF_PROG_TYPE_EXT, "freplace") of a slot in
 * its dispatcher. Some sandboxed kernels refuse EXT loads with EPERM even for root with
 * CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; then no XDP program can ever load through bpfman.
 * This probe loads `objectPath` once and turns that refusal into a precondition failure that
 * says so, instead of a wall of identical test failures.
 */
export async function requireBpfmanXdpLoads(daemon: BpfmanDaemon, objectPath: string, programName: string): Promise<void> {
  try {
    const program = await daemon.client.load({ objectPath, programName, metadata: { santa_instance: `probe-${process.pid}` } });
    await daemon.client.unload(program.id);
  } catch (e) {
    const message = (e as Error).message;
    if (/Operation not permitted|PermissionDenied/.test(message)) {
      throw new PreconditionError(
        'bpfman tests',
        'this kernel refuses BPF_PROG_TYPE_EXT (freplace) programs with EPERM, and bpfman loads every XDP ' +
          `program as an extension of its dispatcher, so bpfman cannot load XDP here. bpfman said: ${message}`,
      );
    }
    throw e;
  }
}

export function bpfmanToml(xdpModes: Record<string, string> = {}): string {
  const lines = [
    '# Written by test/support/bpfman.ts for one test run.',
    '[signing]',
    '# Offline: verifying would fetch Sigstore data for every Load, even from a file.',
    'verify_enabled = false',
    'allow_unsigned = true',
  ];
  for (const [iface, mode] of Object.entries(xdpModes)) {
    lines.push('', `[interfaces."${iface}"]`, `xdp_mode = "${mode}"`);
  }
  return lines.join('\n') + '\n';
}

function mountedAt(target: string, fstype?: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => {
      const [, mnt, type] = line.split(' ');
      return mnt === target && (fstype === undefined || type === fstype);
    });
}

async function prepareSharedMounts(): Promise<void> {
  mkdirSync(BPFMAN_FS, { recursive: true });
  // Source "none" is what bpfman looks for in /proc/mounts to decide it need not mount again.
  if (!mountedAt(BPFMAN_FS, 'bpf')) await run(['mount', '-t', 'bpf', 'none', BPFMAN_FS]);
  mkdirSync(NETNS_DIR, { recursive: true });
  if (!mountedAt(NETNS_DIR)) {
    // The same preparation `ip netns add` does, done early so the daemon's namespace follows.
    await run(['mount', '--bind', NETNS_DIR, NETNS_DIR]);
  }
  await run(['mount', '--make-shared', NETNS_DIR]);
  // bpfman creates /etc/bpfman itself when it runs normally; it must exist to be mounted over.
  mkdirSync('/etc/bpfman', { recursive: true });
}

async function acquireLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(LOCK_FILE, 'utf8').trim());
    if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
      rmSync(LOCK_FILE, { force: true }); // left by a test process that died
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`another test (pid ${holder}) still runs a bpfman daemon after ${timeoutMs} ms (${LOCK_FILE})`);
    }
    await sleep(250);
  }
}

function releaseLock(): void {
  try {
    if (readFileSync(LOCK_FILE, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK_FILE);
  } catch {
    /* already gone */
  }
}

export async function startBpfman(options: BpfmanOptions = {}): Promise<BpfmanDaemon> {
  const what = 'bpfman tests';
  requireRoot(what);
  requireTools(what, ['unshare', 'mount', 'prlimit']);
  const binary = findBpfmanRpc();
  if (binary === undefined) {
    throw new PreconditionError(
      what,
      'bpfman-rpc 0.6.0 is not installed (not in $BPFMAN_RPC, PATH or ~/.cargo/bin); ' +
        'install it with `cargo install bpfman-api --version 0.6.0 --locked` (deploy/install-deps.sh does)',
    );
  }
  await acquireLock(options.lockTimeoutMs ?? 180_000);
  const confDir = mkdtempSync(join(tmpdir(), 'santa-bpfman-etc-'));
  const sockDir = mkdtempSync('/run/santa-bpfman-sock-');
  const socketPath = join(sockDir, 'bpfman.sock');
  let daemon: Background | undefined;
  let client: BpfmanClient | undefined;
  const cleanupFiles = () => {
    rmSync(confDir, { recursive: true, force: true });
    rmSync(sockDir, { recursive: true, force: true });
    releaseLock();
  };
  try {
    writeFileSync(join(confDir, 'bpfman.toml'), bpfmanToml(options.xdpModes));
    await prepareSharedMounts();
    const env: NodeJS.ProcessEnv = { ...process.env, RUST_LOG: options.logLevel ?? 'info' };
    if (!(await memlockRaisable())) {
      requireTools(what, ['cc']);
      env.LD_PRELOAD = await buildMemlockShim(confDir);
    }
    daemon = startBackground(
      [
        'unshare', '--mount', '--propagation', 'slave', '--',
        'sh', '-c', 'mount --bind "$1" /etc/bpfman && exec "$2" --timeout=0 --socket-path "$3"',
        'bpfman-rpc', confDir, binary, socketPath,
      ],
      { env },
    );
    const started = daemon;
    client = new BpfmanClient({ socketPath, timeoutMs: 60_000 });
    const ready = client.waitForReady(20_000);
    const died = started.exited().then(({ code, signal }) => {
      throw new Error(`bpfman-rpc exited early (code ${code}, signal ${signal}):\n${started.output()}`);
    });
    await Promise.race([ready, died]);
    died.catch(() => undefined); // later exits are reported by the calls that fail
    const readyClient = client;
    await unloadStaleTestPrograms(readyClient);
    return {
      socketPath,
      pid: started.pid,
      client: readyClient,
      output: () => started.output(),
      async stop() {
        readyClient.close();
        await started.stop(10_000);
        cleanupFiles();
      },
    };
  } catch (e) {
    client?.close();
    await daemon?.stop(5_000);
    cleanupFiles();
    const out = daemon ? `\nbpfman-rpc output:\n${daemon.output()}` : '';
    throw new Error(`${(e as Error).message}${out}`);
  }
}

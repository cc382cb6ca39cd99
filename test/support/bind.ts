/**
 * Runs a real BIND 9 (`named` from Debian's bind9) for a test and stops it afterwards.
 *
 *   const bind = await startBind({ zones: [{ name: 'example.test', text: zoneText }], queryLog: true });
 *   try {
 *     const a = await query({ name: 'www.example.test' }, { server: '127.0.0.1', port: bind.port });
 *     await bind.rndc('reload', 'example.test');
 *     readFileSync(bind.queryLogPath, 'utf8');
 *   } finally {
 *     await bind.stop();
 *   }
 *
 * What it does:
 * - Writes everything into a fresh temporary directory (`workDir`): named.conf, an rndc key and
 *   rndc.conf with a control channel of its own, zone files given as text, and any `files`.
 * - Checks the configuration with named-checkconf first (named -f reports syntax errors only to
 *   syslog, which these hosts do not have), then runs `named -f -c <conf>` as root (no -u, so it
 *   can read anything the test wrote) with all logging in files in workDir: `named.log` (default
 *   category) and, with `queryLog: true`, `query.log` (`print-time yes`, the format Santa parses).
 * - Waits until named logs "running" and answers an SOA query for `probeZone` (default: the first
 *   zone) with NOERROR and AA; on timeout or early exit it throws with named.log and named's
 *   output in the message.
 * - In a network namespace (`netns`), named runs under nsenter and listens on port 53 of the given
 *   addresses by default; elsewhere on a free port of 127.0.0.1.
 * - stop() terminates named (SIGTERM, then SIGKILL) and removes workDir unless KEEP_TEST_DIRS=1.
 *   An exit hook kills any named a failing test left behind, and the first startBind of a test
 *   process stops servers whose test process died without either (removeStaleServers).
 *
 * Two ways to configure it:
 * - Generated (default): `zones`, `addresses`, `port`, `queryLog`, `dnstap`, `extraOptions` (text
 *   inside options { }), `extraConfig` (top-level text, e.g. views) and `directory`.
 * - `namedConfText`: a complete named.conf in which these placeholders are replaced:
 *   @WORKDIR@, @PORT@, @RNDC_PORT@, @CONTROLS@ (the key and controls statements rndc() needs),
 *   @LOGGING@ (the logging statement described above). `addresses` and `port` must then say where
 *   the text makes named listen, for the readiness probe. Give it `pid-file "@WORKDIR@/named.pid";`
 *   (named's default is shared by every server) and log to @WORKDIR@/named.log (or use @LOGGING@)
 *   so start-up failures show named's own words.
 */
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import * as net from 'net';
import * as dgram from 'dgram';
import { tmpdir } from 'os';
import { dirname, isAbsolute, join } from 'path';
import { query } from './dns-client';
import { nsArgv } from './netns';
import { Background, GiveUp, pidAlive, run, startBackground, waitFor } from './process';
import { requireTools } from './require-root';

export interface ZoneSpec {
  name: string;
  /** Zone file contents; written to zones/<name>.zone in workDir. */
  text?: string;
  /** An existing zone file (absolute, or relative to `directory`). */
  file?: string;
  /** Default `primary`. */
  type?: string;
  /** Extra text inside the zone statement. */
  options?: string;
}

export interface DnstapSpec {
  /** `unix` sends frames to a Frame Streams receiver on `path`; `file` writes them to `path`. */
  output: 'unix' | 'file';
  path: string;
  /** Message types for `dnstap { ... }`; default `auth query; auth response;`. */
  types?: string;
}

export interface BindOptions {
  zones?: ZoneSpec[];
  /** Extra files to write, path relative to workDir -> contents. */
  files?: Record<string, string>;
  namedConfText?: string;
  /** Network namespace name (under /run/netns) to run named in. */
  netns?: string;
  /** Listen addresses, IPv4 and IPv6 mixed; default ['127.0.0.1']. */
  addresses?: string[];
  /** Default: 53 inside a namespace, else a free port. */
  port?: number;
  queryLog?: boolean;
  dnstap?: DnstapSpec;
  extraOptions?: string;
  extraConfig?: string;
  /** BIND's `directory`; default workDir. Relative zone files and $INCLUDEs resolve against it. */
  directory?: string;
  /** Zone whose SOA must be served before start resolves; default the first zone; '.' accepts any answer. */
  probeZone?: string;
  /** named -n: worker threads; default named's own choice (one per CPU in its affinity). */
  workers?: number;
  startTimeoutMs?: number;
}

export interface BindServer {
  readonly workDir: string;
  readonly confPath: string;
  readonly port: number;
  readonly addresses: readonly string[];
  readonly netns?: string;
  /** Where the query log goes (exists only with queryLog: true, once a query was logged). */
  readonly queryLogPath: string;
  readonly logPath: string;
  readonly pid: number;
  /** Runs rndc against this server's control channel; resolves with its stdout. */
  rndc(...args: string[]): Promise<string>;
  /** named.log so far, for assertions and error messages. */
  log(): string;
  queryLog(): string;
  stop(): Promise<void>;
}

const running = new Map<number, Background>();
const WORKDIR_PREFIX = 'santa-bind-';
/** Written into every workDir: the pid of the test process that owns it. */
const OWNER_FILE = 'owner.pid';
let staleSwept = false;

export async function startBind(opts: BindOptions): Promise<BindServer> {
  requireTools('BIND runner', ['named', 'named-checkconf', 'rndc', 'nsenter']);
  if (!staleSwept) {
    staleSwept = true;
    removeStaleServers();
  }
  const workDir = mkdtempSync(join(tmpdir(), WORKDIR_PREFIX));
  writeFileSync(join(workDir, OWNER_FILE), `${process.pid}\n`);
  let server: Background | undefined;
  try {
    const addresses = opts.addresses ?? ['127.0.0.1'];
    const port = opts.port ?? (opts.netns ? 53 : await freePort(addresses[0]));
    const rndcPort = opts.netns ? 953 : await freePort('127.0.0.1');
    const paths = {
      conf: join(workDir, 'named.conf'),
      log: join(workDir, 'named.log'),
      queryLog: join(workDir, 'query.log'),
      rndcKey: join(workDir, 'rndc.key'),
      rndcConf: join(workDir, 'rndc.conf'),
    };
    const secret = randomBytes(32).toString('base64');
    writeFileSync(paths.rndcKey, `key "santa-test-rndc" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`);
    writeFileSync(
      paths.rndcConf,
      `include "${paths.rndcKey}";\noptions {\n\tdefault-key "santa-test-rndc";\n\tdefault-server 127.0.0.1;\n\tdefault-port ${rndcPort};\n};\n`,
    );
    for (const [rel, text] of Object.entries(opts.files ?? {})) writeInside(workDir, rel, text);
    const zoneStatements = (opts.zones ?? []).map((z) => zoneStatement(workDir, z)).join('');
    const controls =
      `include "${paths.rndcKey}";\n` +
      `controls { inet 127.0.0.1 port ${rndcPort} allow { 127.0.0.1; } keys { "santa-test-rndc"; }; };\n`;
    const logging =
      'logging {\n' +
      `\tchannel santa_general { file "${paths.log}"; print-time yes; severity info; };\n` +
      `\tchannel santa_queries { file "${paths.queryLog}"; print-time yes; };\n` +
      '\tcategory default { santa_general; };\n' +
      '\tcategory queries { santa_queries; };\n' +
      '};\n';
    const conf =
      opts.namedConfText !== undefined
        ? opts.namedConfText
            .replace(/@WORKDIR@/g, workDir)
            .replace(/@PORT@/g, String(port))
            .replace(/@RNDC_PORT@/g, String(rndcPort))
            .replace(/@CONTROLS@/g, controls)
            .replace(/@LOGGING@/g, logging)
        : generatedConf({ opts, workDir, port, addresses, controls, logging, zoneStatements });
    writeFileSync(paths.conf, conf);

    const check = await run(['named-checkconf', paths.conf], { allowFailure: true });
    if (check.code !== 0) {
      throw new Error(`named-checkconf rejects the test's named.conf:\n${check.stdout}${check.stderr}\n--- ${paths.conf}\n${numbered(conf)}`);
    }

    const argv = ['named', '-f', '-c', paths.conf, ...(opts.workers ? ['-n', String(opts.workers)] : [])];
    server = startBackground(opts.netns ? nsArgv(opts.netns, argv) : argv);
    running.set(server.pid, server);
    const bg = server;
    const describe = () =>
      `named ${bg.hasExited() ? 'exited' : 'is still running'}; its output:\n${bg.output() || '(none)'}\n` +
      `--- ${paths.log}\n${tailOf(paths.log)}\n--- ${paths.conf}\n${numbered(conf)}`;
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    // A namedConfText that logs elsewhere gets only the SOA probe below.
    if (conf.includes(paths.log)) {
      await waitFor(
        'named to log "running"',
        () => {
          if (bg.hasExited()) throw new GiveUp('named exited during start-up');
          return /\brunning$/m.test(readOr(paths.log)) ? true : undefined;
        },
        { timeoutMs, describe },
      );
    }
    const probeZone = opts.probeZone ?? opts.zones?.[0]?.name ?? '.';
    await waitFor(
      `an SOA answer for ${probeZone} from ${addresses[0]} port ${port}`,
      async () => {
        if (bg.hasExited()) throw new GiveUp('named exited during start-up');
        const failed = new RegExp(`zone ${escapeRegExp(probeZone.replace(/\.$/, ''))}/IN: not loaded due to errors`, 'i');
        if (failed.test(readOr(paths.log))) throw new GiveUp(`zone ${probeZone} did not load`);
        const a = await query(
          { name: probeZone, type: 'SOA' },
          { server: addresses[0], port, netns: opts.netns, timeoutMs: 500, retries: 1 },
        );
        if (probeZone === '.') return a;
        if (a.rcode !== 'NOERROR' || !a.packet.flag_aa) throw new Error(`answer was ${a.rcode}, aa=${a.packet.flag_aa}`);
        return a;
      },
      { timeoutMs, intervalMs: 200, describe },
    );

    return {
      workDir,
      confPath: paths.conf,
      port,
      addresses,
      netns: opts.netns,
      queryLogPath: paths.queryLog,
      logPath: paths.log,
      pid: bg.pid,
      async rndc(...args: string[]) {
        const rndcArgv = ['rndc', '-c', paths.rndcConf, ...args];
        const r = await run(opts.netns ? nsArgv(opts.netns, rndcArgv) : rndcArgv, { timeoutMs: 30_000 });
        return r.stdout;
      },
      log: () => readOr(paths.log),
      queryLog: () => readOr(paths.queryLog),
      async stop() {
        await bg.stop();
        running.delete(bg.pid);
        removeWorkDir(workDir);
      },
    };
  } catch (e) {
    if (server) {
      await server.stop();
      running.delete(server.pid);
    }
    removeWorkDir(workDir);
    throw e;
  }
}

function generatedConf(p: {
  opts: BindOptions;
  workDir: string;
  port: number;
  addresses: readonly string[];
  controls: string;
  logging: string;
  zoneStatements: string;
}): string {
  const v4 = p.addresses.filter((a) => net.isIPv4(a));
  const v6 = p.addresses.filter((a) => net.isIPv6(a));
  const list = (xs: readonly string[]) => (xs.length ? xs.map((x) => `${x}; `).join('') : 'none; ');
  const dnstap = p.opts.dnstap
    ? `\tdnstap { ${p.opts.dnstap.types ?? 'auth query; auth response;'} };\n` +
      `\tdnstap-output ${p.opts.dnstap.output} "${p.opts.dnstap.path}";\n`
    : '';
  return (
    p.controls +
    'options {\n' +
    `\tdirectory "${p.opts.directory ?? p.workDir}";\n` +
    `\tpid-file "${p.workDir}/named.pid";\n` +
    `\tsession-keyfile "${p.workDir}/session.key";\n` +
    `\tmanaged-keys-directory "${p.workDir}";\n` +
    `\tdump-file "${p.workDir}/named_dump.db";\n` +
    `\tstatistics-file "${p.workDir}/named.stats";\n` +
    `\tlisten-on port ${p.port} { ${list(v4)}};\n` +
    `\tlisten-on-v6 port ${p.port} { ${list(v6)}};\n` +
    '\trecursion no;\n' +
    '\tnotify no;\n' +
    `\tquerylog ${p.opts.queryLog ? 'yes' : 'no'};\n` +
    dnstap +
    (p.opts.extraOptions ? `\t${p.opts.extraOptions}\n` : '') +
    '};\n' +
    p.logging +
    p.zoneStatements +
    (p.opts.extraConfig ?? '')
  );
}

function zoneStatement(workDir: string, z: ZoneSpec): string {
  if ((z.text === undefined) === (z.file === undefined)) {
    throw new Error(`zone ${z.name}: give exactly one of text and file`);
  }
  let file = z.file!;
  if (z.text !== undefined) {
    file = writeInside(workDir, join('zones', `${z.name === '.' ? 'root' : z.name}.zone`), z.text);
  }
  return `zone "${z.name}" {\n\ttype ${z.type ?? 'primary'};\n\tfile "${file}";\n${z.options ? `\t${z.options}\n` : ''}};\n`;
}

function writeInside(workDir: string, rel: string, text: string): string {
  if (isAbsolute(rel) || rel.split('/').includes('..')) throw new Error(`file ${rel} must be relative to workDir`);
  const full = join(workDir, rel);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** A port free for both UDP and TCP on `address` (DNS needs both). */
async function freePort(address: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, address, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
      s.once('error', () => resolve(false));
      s.bind(port, address, () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${address}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tailOf(path: string, lines = 40): string {
  const text = readOr(path);
  return text ? text.trimEnd().split('\n').slice(-lines).join('\n') : '(empty)';
}

function numbered(text: string): string {
  return text
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(3)}  ${l}`)
    .join('\n');
}

function removeWorkDir(dir: string): void {
  if (process.env.KEEP_TEST_DIRS === '1' || !existsSync(dir)) return;
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops named servers (and removes the work directories) left by test processes that died
 * without cleaning up, e.g. killed by a CI timeout. A named is only killed when its command
 * line names that very work directory's named.conf, so no other named is ever touched.
 * Servers inside test namespaces are also covered by netns.ts's sweep.
 */
export function removeStaleServers(): string[] {
  const removed: string[] = [];
  if (process.env.KEEP_TEST_DIRS === '1') return removed;
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((n) => n.startsWith(WORKDIR_PREFIX));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    const owner = Number(readOr(join(dir, OWNER_FILE)).trim());
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || pidAlive(owner)) continue;
    const namedPid = Number(readOr(join(dir, 'named.pid')).trim());
    if (Number.isInteger(namedPid) && namedPid > 0) {
      const cmdline = readOr(`/proc/${namedPid}/cmdline`).split('\0');
      if (cmdline.includes(join(dir, 'named.conf'))) {
        try {
          process.kill(namedPid, 'SIGKILL');
        } catch {
          /* exited meanwhile */
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

process.on('exit', () => {
  for (const bg of running.values()) if (!bg.hasExited()) bg.child.kill('SIGKILL');
});

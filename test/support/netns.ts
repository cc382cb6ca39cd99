/**
 * Test hosts as network namespaces: a client and a server joined by one veth pair.
 *
 *   const topo = await createTopology();
 *   try {
 *     await topo.exec(topo.client, ['dig', '@10.53.0.2', 'example.test']);
 *   } finally {
 *     await topo.destroy();
 *   }
 *
 *   client ns  santa-t-<pid>-<n>-c   veth "santa-c"  10.53.0.1/24  fd53::1/64
 *   server ns  santa-t-<pid>-<n>-s   veth "santa-s"  10.53.0.2/24  fd53::2/64
 *
 * Both ends are created directly inside their namespaces, so the interface names are fixed and
 * never collide with the host's or another run's. IPv6 addresses skip duplicate address
 * detection so they are usable at once, and each side has permanent neighbour entries for the
 * other. The loopback is up in both (BIND's control channel
 * listens there).
 *
 * Commands run through `nsenter --net=/run/netns/<ns>`, not `ip netns exec`: the latter remounts
 * /sys for the command and so hides the bpffs at /sys/fs/bpf from tools that need both.
 *
 * Cleanup: destroy() kills every process left in the two namespaces (only this run's tests put
 * processes there) and deletes them, which also removes the veth pair and any XDP program attached
 * to it. It is idempotent. An exit hook destroys whatever a crashed test left, and every new
 * topology first removes namespaces of earlier runs whose process (the pid in the name) is dead.
 */
import { execFileSync } from 'child_process';
import { existsSync } from 'fs';
import { pidAlive, run, RunOptions, RunResult, sleep, startBackground, Background } from './process';

export const NS_PREFIX = 'santa-t-';
const NETNS_DIR = '/run/netns';

export interface Endpoint {
  /** Namespace name, as `ip netns list` shows it. */
  readonly ns: string;
  /** Path usable with nsenter --net= and setns(). */
  readonly nsPath: string;
  readonly ifname: string;
  readonly ifindex: number;
  readonly mac: string;
  readonly v4: string;
  readonly v6: string;
}

export interface Topology {
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Runs argv inside the endpoint's namespace; rejects on a non-zero exit unless allowFailure. */
  exec(where: Endpoint | string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running command inside the endpoint's namespace. */
  spawn(where: Endpoint | string, argv: readonly string[]): Background;
  /** Kills what runs inside and deletes both namespaces; safe to call more than once. */
  destroy(): Promise<void>;
}

export const CLIENT_V4 = '10.53.0.1';
export const SERVER_V4 = '10.53.0.2';
export const CLIENT_V6 = 'fd53::1';
export const SERVER_V6 = 'fd53::2';

let counter = 0;
let staleSwept = false;
const live = new Set<string>();

/** argv prefixed so that it runs in namespace `ns` while still seeing the host's /sys. */
export function nsArgv(ns: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=${NETNS_DIR}/${ns}`, '--', ...argv];
}

export function nsExec(ns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run(nsArgv(ns, argv), opts);
}

export async function createTopology(): Promise<Topology> {
  if (!staleSwept) {
    staleSwept = true;
    await removeStaleNamespaces();
  }
  const base = `${NS_PREFIX}${process.pid}-${++counter}`;
  const clientNs = `${base}-c`;
  const serverNs = `${base}-s`;
  const names = [clientNs, serverNs];
  for (const ns of names) live.add(ns);
  try {
    for (const ns of names) await run(['ip', 'netns', 'add', ns]);
    await run([
      'ip', 'link', 'add', 'name', 'santa-c', 'netns', clientNs,
      'type', 'veth', 'peer', 'name', 'santa-s', 'netns', serverNs,
    ]);
    await configureEnd(clientNs, 'santa-c', CLIENT_V4, CLIENT_V6);
    await configureEnd(serverNs, 'santa-s', SERVER_V4, SERVER_V6);
    const client = await describeEnd(clientNs, 'santa-c', CLIENT_V4, CLIENT_V6);
    const server = await describeEnd(serverNs, 'santa-s', SERVER_V4, SERVER_V6);
    // Permanent neighbour entries: no ARP/ND exchange delays the first query or shows up in the
    // XDP program's counters, and nothing depends on neighbour timers.
    await addNeighbours(client, server);
    await addNeighbours(server, client);
    return makeTopology(client, server);
  } catch (e) {
    await destroyNamespaces(names);
    throw e;
  }
}

async function configureEnd(ns: string, ifname: string, v4: string, v6: string): Promise<void> {
  const ip = (...args: string[]) => run(['ip', '-n', ns, ...args]);
  await ip('link', 'set', 'lo', 'up');
  await ip('addr', 'add', `${v4}/24`, 'dev', ifname);
  await ip('-6', 'addr', 'add', `${v6}/64`, 'dev', ifname, 'nodad');
  await ip('link', 'set', ifname, 'up');
}

async function addNeighbours(from: Endpoint, to: Endpoint): Promise<void> {
  for (const addr of [to.v4, to.v6]) {
    await run(['ip', '-n', from.ns, 'neigh', 'replace', addr, 'lladdr', to.mac, 'dev', from.ifname, 'nud', 'permanent']);
  }
}

async function describeEnd(ns: string, ifname: string, v4: string, v6: string): Promise<Endpoint> {
  const { stdout } = await run(['ip', '-n', ns, '-j', 'link', 'show', 'dev', ifname]);
  const [link] = JSON.parse(stdout) as Array<{ ifindex: number; address: string }>;
  return { ns, nsPath: `${NETNS_DIR}/${ns}`, ifname, ifindex: link.ifindex, mac: link.address, v4, v6 };
}

function makeTopology(client: Endpoint, server: Endpoint): Topology {
  const nsOf = (where: Endpoint | string) => (typeof where === 'string' ? where : where.ns);
  let destroyed = false;
  return {
    client,
    server,
    exec: (where, argv, opts) => nsExec(nsOf(where), argv, opts),
    spawn: (where, argv) => startBackground(nsArgv(nsOf(where), argv)),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await destroyNamespaces([client.ns, server.ns]);
    },
  };
}

async function pidsIn(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { allowFailure: true });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

async function destroyNamespaces(names: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const ns of names) {
    if (!existsSync(`${NETNS_DIR}/${ns}`)) {
      live.delete(ns);
      continue;
    }
    const pids = await pidsIn(ns);
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (pids.some(pidAlive) && Date.now() < deadline) await sleep(50);
    for (const pid of pids.filter(pidAlive)) signal(pid, 'SIGKILL');
    const r = await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    if (r.code !== 0) problems.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    else live.delete(ns);
  }
  if (problems.length) throw new Error(`namespace cleanup failed:\n${problems.join('\n')}`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Deletes namespaces named by earlier test runs whose process no longer exists. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { allowFailure: true });
  const stale = r.stdout
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => {
      const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name);
      return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
    });
  await destroyNamespaces(stale);
  return stale;
}

/**
 * A second client: `address` (in a /24 of its own) on the client's interface, routed back by the
 * server with a permanent neighbour entry, so tests can send from two networks (dig -b).
 */
export async function addClientNetwork(topo: Topology, address: string): Promise<void> {
  const net = `${address.split('.').slice(0, 3).join('.')}.0/24`;
  await run(['ip', '-n', topo.client.ns, 'addr', 'add', `${address}/24`, 'dev', topo.client.ifname]);
  await run(['ip', '-n', topo.server.ns, 'route', 'add', net, 'dev', topo.server.ifname]);
  await run(['ip', '-n', topo.server.ns, 'neigh', 'replace', address, 'lladdr', topo.client.mac, 'dev', topo.server.ifname, 'nud', 'permanent']);
}

/** Reads a /proc/net/snmp counter (e.g. "Udp", "InCsumErrors") as seen inside a namespace. */
export async function snmpCounter(ns: string, group: string, field: string, v6 = false): Promise<number> {
  if (v6) {
    const { stdout } = await nsExec(ns, ['cat', '/proc/net/snmp6']);
    const line = stdout.split('\n').find((l) => l.startsWith(`${group}${field} `) || l.startsWith(`${group}${field}\t`));
    if (!line) throw new Error(`no ${group}${field} in /proc/net/snmp6 of ${ns}`);
    return Number(line.trim().split(/\s+/)[1]);
  }
  const { stdout } = await nsExec(ns, ['cat', '/proc/net/snmp']);
  const lines = stdout.split('\n').filter((l) => l.startsWith(`${group}:`));
  if (lines.length < 2) throw new Error(`no ${group} group in /proc/net/snmp of ${ns}`);
  const keys = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const i = keys.indexOf(field);
  if (i < 0) throw new Error(`no ${group} ${field} in /proc/net/snmp of ${ns}`);
  return Number(values[i]);
}

// Last resort for a test process that exits without reaching its afterAll: synchronous,
// because nothing asynchronous runs inside an 'exit' handler.
process.on('exit', () => {
  for (const ns of live) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      for (const pid of pids) if (pid !== process.pid) signal(pid, 'SIGKILL');
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* best effort; the next run's stale sweep retries */
    }
  }
});

/** For diagnostics: the XDP attachment of an interface as `ip link` reports it. */
export async function xdpInfo(ns: string, ifname: string): Promise<string> {
  const r = await run(['ip', '-n', ns, '-d', 'link', 'show', 'dev', ifname], { allowFailure: true });
  return r.stdout.split('\n').filter((l) => /xdp|prog/.test(l)).join('\n');
}

/** Whether /run/netns/<ns> exists (for tests of the cleanup itself). */
export function namespaceExists(ns: string): boolean {
  return existsSync(`${NETNS_DIR}/${ns}`);
}

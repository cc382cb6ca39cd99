/**
 * The compose deployment's own files, run for real in network namespaces, so that they cannot
 * drift from the code: named with deploy/compose/named.conf, `santa run` with
 * deploy/compose/santa.yaml, Prometheus with deploy/compose/prometheus/{prometheus,alerts}.yml,
 * and every expression of the Grafana dashboard evaluated by that Prometheus.
 *
 * The namespaces stand in for the containers: the server namespace is the bind container's
 * network namespace, which santa (and bpfman) share in docker-compose.yml; the client namespace
 * is the compose network, from where Prometheus scrapes and clients ask.
 *
 * What differs from compose, and only that:
 * - Paths: compose mounts files at fixed paths in the containers; here each mount target is
 *   replaced, in the text of the files, by where the test put the same content (MOUNTS below).
 * - The service name `bind` (Prometheus' scrape target) is the server namespace's address.
 * - loader and interfaces, through SANTA_LOADER/SANTA_INTERFACES (and SANTA_PIN_DIR for the
 *   native loader's pins): bpfman cannot load programs on this test kernel (lockdown refuses
 *   the freplace programs its dispatcher uses), so the native loader attaches in generic mode
 *   to the server end of the veth, which plays the container's eth0.
 */
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pinnedEntryNames, pinnedStats } from '../support/santa-maps';
import { createTopology, nsArgv, SERVER_V4, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { query } from '../support/dns-client';
import { requireRoot, requireTools } from '../support/require-root';
import { GiveUp, run, startBackground, waitFor, type Background } from '../support/process';
import { parse } from 'yaml';
import { dashboardQueries } from './dashboard';

const ROOT = resolve(__dirname, '../..');
const COMPOSE = join(ROOT, 'deploy/compose');
const PROM_PORT = 9090;
/** What santa run with the native loader may use (setpriv names, without CAP_). */
const NATIVE_LOADER_CAPS = ['bpf', 'net_admin', 'sys_admin'];

/** Runs the command of docker-compose.yml's bind-init service (rndc key, cookie secret,
 * ownership of named's directories) with its volumes remapped. */
async function runBindInit(mounts: Record<string, string>): Promise<void> {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command: string[] }> };
  const script = compose.services['bind-init'].command[0].replace(/\$\$/g, '$'); // compose's escape for a literal $
  await run(['sh', '-c', remap(script, mounts)]);
}

/** Replaces every mount target (longest first) by the local path holding the same content. */
function remap(text: string, mounts: Record<string, string>): string {
  const targets = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(targets.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return text.replace(pattern, (t) => mounts[t]);
}

interface PromResponse<T> {
  status: string;
  error?: string;
  data: T;
}

describe('the compose topology files, run in network namespaces', () => {
  let topo: Topology;
  let bind: BindServer;
  let santa: Background | undefined;
  let prometheus: Background | undefined;
  let work: string;
  let pinDir: string;
  let mounts: Record<string, string>;

  const santaOutput = () => santa?.output() ?? '(santa not started)';
  const promOutput = () => prometheus?.output() ?? '(prometheus not started)';
  const ask = async (name: string, type: 'A' | 'MX' = 'A') => {
    const a = await query({ name, type, rd: false, edns: true }, { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1500 });
    return a;
  };
  const firstA = async (name: string) => {
    const a = await ask(name);
    const rr = a.packet.answers?.find((x): x is { type: 'A'; name: string; data: string } => x.type === 'A');
    return rr ? rr.data : `rcode ${a.rcode}`;
  };
  const stats = () => pinnedStats(pinDir);
  const installedNames = () => pinnedEntryNames(pinDir);
  const promApi = async <T>(path: string): Promise<PromResponse<T>> => {
    const r = await topo.exec(topo.client, ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${PROM_PORT}${path}`]);
    return JSON.parse(r.stdout) as PromResponse<T>;
  };
  const promQuery = (expr: string) =>
    promApi<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );

  beforeAll(async () => {
    requireRoot('compose topology end to end');
    requireTools('compose topology end to end', ['setpriv', 'dig', 'named', 'rndc', 'rndc-confgen', 'nsenter', 'prometheus', 'curl']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-compose-'));
    pinDir = `/sys/fs/bpf/santa-compose-test-${process.pid}`;
    for (const dir of ['keys', 'log', 'cache', 'run', 'prometheus-data']) mkdirSync(join(work, dir));
    // A copy, because the test edits a zone as an operator would edit zones-example/ on the host.
    cpSync(join(ROOT, 'zones-example'), join(work, 'zones'), { recursive: true });
    // ./zones-example/includes, mounted into named's working directory (the bind-cache volume).
    symlinkSync(join(work, 'zones/includes'), join(work, 'cache/includes'));
    // docker-compose.yml's volumes (target in the container -> what the test mounts there).
    mounts = {
      '/etc/bind/zones': join(work, 'zones'), // ./zones-example
      '/etc/bind/keys': join(work, 'keys'), // bind-keys
      '/var/log/bind': join(work, 'log'), // bind-log
      '/var/cache/bind': join(work, 'cache'), // bind-cache
      '/run/named': join(work, 'run'), // bind-run
      '/run/santa-bpf/santa.bpf.o': join(ROOT, 'xdp/build/santa.bpf.o'), // santa-bpf, filled by santa's entrypoint
    };
    await runBindInit(mounts);
    // startBind runs named as root without -u, and named keeps no CAP_DAC_OVERRIDE, so the
    // directories bind-init gave to user bind go back to root here (the last test runs named
    // -u bind on bind-init's ownership).
    for (const dir of ['log', 'cache', 'run']) chownSync(join(work, dir), 0, 0);
    bind = await startBind({
      netns: topo.server.ns,
      namedConfText: remap(readFileSync(join(COMPOSE, 'named.conf'), 'utf8'), mounts),
      addresses: [topo.server.v4],
      probeZone: 'example.test',
    });
    mounts['/etc/bind/named.conf'] = bind.confPath; // ./deploy/compose/named.conf, remapped as above

    const santaYaml = join(work, 'santa.yaml');
    writeFileSync(santaYaml, remap(readFileSync(join(COMPOSE, 'santa.yaml'), 'utf8'), mounts));
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SANTA_')));
    Object.assign(env, {
      SANTA_LOADER: 'native',
      SANTA_INTERFACES: `${topo.server.ifname}:generic`,
      SANTA_PIN_DIR: pinDir,
    });
    // Only the capabilities deploy/systemd/santa.service and deploy/Dockerfile document for the
    // native loader: the test fails if santa needs more.
    const capabilities = ['setpriv', `--bounding-set=-all,${NATIVE_LOADER_CAPS.map((c) => `+${c}`).join(',')}`, '--inh-caps=-all', '--'];
    santa = startBackground(nsArgv(topo.server.ns, [...capabilities, 'node', '--require', 'tsx/cjs', join(ROOT, 'sidecar/cli/main.ts'), 'run', '--config', santaYaml]), {
      env,
      cwd: ROOT,
    });

    const promDir = join(work, 'prometheus');
    mkdirSync(promDir);
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      readFileSync(join(COMPOSE, 'prometheus/prometheus.yml'), 'utf8').replace(/\bbind:9553\b/g, `${SERVER_V4}:9553`),
    );
    cpSync(join(COMPOSE, 'prometheus/alerts.yml'), join(promDir, 'alerts.yml'));
    prometheus = startBackground(
      nsArgv(topo.client.ns, [
        'prometheus',
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${PROM_PORT}`,
      ]),
    );
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop(3000);
    await santa?.stop(3000);
    await bind?.stop();
    await topo?.destroy();
    rmSync(pinDir, { recursive: true, force: true });
    if (work && process.env.KEEP_TEST_DIRS !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('answers hot questions of zones-example from XDP, found through the query log named.conf writes', async () => {
    await waitFor(
      'www.example.test installed by santa',
      async () => {
        expect(await firstA('www.example.test')).not.toMatch(/^rcode/);
        return installedNames().some((n) => n.includes('example')) || undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, describe: santaOutput },
    );
    const before = stats().HITS;
    const expected = await firstA('www.example.test');
    for (let i = 0; i < 20; i++) expect(await firstA('www.example.test')).toBe(expected);
    expect(stats().HITS - before).toBeGreaterThanOrEqual(20);

    // dig sends a DNS cookie, as resolvers do: answered from XDP thanks to the cookie secret
    // bind-init made and named.conf includes, with a server cookie BIND would accept.
    const hitsBefore = stats().HITS;
    const dig = await topo.exec(topo.client, ['dig', `@${topo.server.v4}`, 'www.example.test', 'A', '+norec', '+cookie', '+tries=1', '+time=2']);
    expect(dig.stdout).toMatch(/status: NOERROR/);
    expect(dig.stdout).toMatch(/; COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)/);
    expect(stats().HITS - hitsBefore).toBe(1);
  }, 60_000);

  it('reloads BIND through the rndc command and key of santa.yaml when a zone file changes', async () => {
    const file = join(work, 'zones/other.test.zone');
    await waitFor('www.other.test installed', async () => {
      await firstA('www.other.test');
      return installedNames().some((n) => n.includes('other')) || undefined;
    }, { timeoutMs: 40_000, intervalMs: 500, describe: santaOutput });
    const old = readFileSync(file, 'utf8');
    const serial = /SOA\s+\S+\s+\S+\s+(\d+)/.exec(old);
    if (!serial) throw new Error(`no SOA serial found in ${file}`);
    const next = Number(serial[1]) + 1;
    writeFileSync(file, old.replace(/(SOA\s+\S+\s+\S+\s+)\d+/, `$1${next}`).replace(/^www(\s+)A(\s+)\S+/m, 'www$1A$2198.51.100.99'));
    // Nobody but santa reloads BIND here: the new serial can only come from bind.reload_command.
    await waitFor('BIND to serve the new serial of other.test', async () => {
      const soa = await query({ name: 'other.test', type: 'SOA' }, { server: topo.server.v4, netns: topo.client.ns, transport: 'tcp' });
      const data = soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number } | undefined;
      return data?.serial === next || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: () => `${santaOutput()}\n--- named\n${bind.log()}` });
    await waitFor('the new www.other.test answered from XDP', async () => {
      const before = stats().HITS;
      const answer = await firstA('www.other.test');
      expect(answer).toBe('198.51.100.99');
      return stats().HITS > before || undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, describe: santaOutput });
  }, 90_000);

  it('is scraped by the compose Prometheus, which sees the hits and loads the alert rules without errors', async () => {
    const hits = stats().HITS;
    await waitFor('Prometheus to have scraped the hits', async () => {
      const r = await promQuery('santa_cache_hits_total');
      const v = r.data.result[0]?.value[1];
      return v !== undefined && Number(v) >= hits ? true : undefined;
    }, { timeoutMs: 40_000, intervalMs: 1000, describe: () => `${promOutput()}\n--- santa\n${santaOutput()}` });

    const rules = await waitFor('the alert rules to be evaluated', async () => {
      const r = await promApi<{ groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] }>('/api/v1/rules');
      const all = r.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((x) => !x.lastEvaluation.startsWith('0001')) ? all : undefined;
    }, { timeoutMs: 40_000, intervalMs: 1000, describe: promOutput });
    expect(rules.map((r) => r.name).sort()).toEqual(['SantaDown', 'SantaHitRatioCollapse', 'SantaNamedConfUnreadable', 'SantaVerifyFailures', 'SantaZoneError', 'SantaZoneWithdrawn']);
    for (const r of rules) expect({ rule: r.name, health: r.health, error: r.lastError ?? '' }).toEqual({ rule: r.name, health: 'ok', error: '' });
    const up = await promQuery('up{job="santa"}');
    expect(up.data.result.map((x) => x.value[1])).toEqual(['1']);
    // The compose named.conf reads: the SantaNamedConfUnreadable alert's series says so.
    const confOk = await promQuery('santa_named_conf_ok{job="santa"}');
    expect(confOk.data.result.map((x) => x.value[1])).toEqual(['1']);
  }, 90_000);

  it('evaluates every expression of the Grafana dashboard, and the hit panels show the hits', async () => {
    const queries = dashboardQueries(JSON.parse(readFileSync(join(COMPOSE, 'grafana/dashboards/santa.json'), 'utf8')));
    expect(queries.length).toBeGreaterThan(5);
    const empty: string[] = [];
    for (const q of queries) {
      // Grafana's $__rate_interval is at least four scrape intervals; one minute here.
      const r = await promQuery(q.expr.replace(/\$__rate_interval/g, '1m'));
      expect({ panel: q.panel, expr: q.expr, status: r.status, error: r.error ?? '' }).toEqual({ panel: q.panel, expr: q.expr, status: 'success', error: '' });
      if (r.data.result.length === 0) empty.push(`${q.panel}: ${q.expr}`);
    }
    const hitRatio = await promQuery(queries.find((q) => q.panel === 'Hit ratio')!.expr.replace(/\$__rate_interval/g, '1m'));
    expect(Number(hitRatio.data.result[0]?.value[1])).toBeGreaterThan(0);
    const states = await promQuery('count by (state) (santa_zone_state)');
    expect(states.data.result.map((x) => x.metric.state)).toContain('offloaded');
    // Every panel but the ones about rare events has data from a running santa.
    expect(empty.filter((e) => !/Reload events|verify/.test(e))).toEqual([]);
  }, 60_000);

  it('named starts from the same named.conf as an unprivileged user with the zone directory read-only', async () => {
    // The runner above starts named as root; the bind image runs `named -u bind` with
    // zones-example mounted read-only. named 9.18 refuses a working directory it cannot write,
    // so this checks the compose directory layout under those conditions, in a namespace of
    // its own (its port 53 and 953 are free there).
    requireTools('unprivileged named', ['getent']);
    await run(['getent', 'passwd', 'bind']); // the user bind-init and named -u bind need
    const own = mkdtempSync(join(tmpdir(), 'santa-compose-bind-'));
    const other = await createTopology();
    let named: Background | undefined;
    try {
      chmodSync(own, 0o755);
      for (const dir of ['keys', 'log', 'cache', 'run']) mkdirSync(join(own, dir));
      cpSync(join(ROOT, 'zones-example'), join(own, 'zones'), { recursive: true });
      symlinkSync(join(own, 'zones/includes'), join(own, 'cache/includes'));
      await run(['chmod', '-R', 'a-w', join(own, 'zones')]);
      const ownMounts = {
        '/etc/bind/zones': join(own, 'zones'),
        '/etc/bind/keys': join(own, 'keys'),
        '/var/log/bind': join(own, 'log'),
        '/var/cache/bind': join(own, 'cache'),
        '/run/named': join(own, 'run'),
      };
      await runBindInit(ownMounts); // keys group-readable by bind, directories owned by bind
      const conf = join(own, 'named.conf');
      writeFileSync(
        conf,
        remap(readFileSync(join(COMPOSE, 'named.conf'), 'utf8'), ownMounts),
      );
      named = startBackground(nsArgv(other.server.ns, ['named', '-g', '-u', 'bind', '-c', conf]));
      const started = named;
      const answer = await waitFor('named -u bind to answer from the $INCLUDEd file', async () => {
        if (started.hasExited()) throw new GiveUp('named exited');
        const a = await query({ name: 'alpha.hosts.example.test', type: 'A' }, { server: other.server.v4, netns: other.client.ns, timeoutMs: 500, retries: 0 });
        return (a.packet.answers?.find((x) => x.type === 'A') as { data?: string } | undefined)?.data;
      }, { timeoutMs: 20_000, intervalMs: 300, describe: () => started.output() });
      expect(answer).toBe('192.0.2.101');
      expect(started.output()).not.toMatch(/not writable|permission denied/i);
    } finally {
      await named?.stop(3000);
      await other.destroy();
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});

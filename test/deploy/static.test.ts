/**
 * Checks of the deployment files with their tools' own validators (no Docker engine needed):
 * docker-compose's config check, hadolint on the Dockerfile, promtool on the Prometheus config
 * and alert rules (including unit tests of the alerts), systemd-analyze on the unit, and the
 * metric and label names the dashboard and the alerts use against the registry Santa exports.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { createMetrics } from '../../sidecar/metrics';
import { loadConfig } from '../../sidecar/config';
import { interpretNamedConf, readNamedConf, type NamedConf } from '../../sidecar/named-conf/read';
import { requireTools } from '../support/require-root';
import { run } from '../support/process';
import { dashboardQueries, labelNames, metricNames } from './dashboard';

const ROOT = resolve(__dirname, '../..');
const COMPOSE = join(ROOT, 'deploy/compose');

/** Runs a validator; a failure shows its whole output. */
async function check(argv: string[], cwd = ROOT): Promise<string> {
  const r = await run(argv, { cwd, allowFailure: true, timeoutMs: 300_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}):\n${out}`);
  return out;
}

interface ComposeService {
  image?: string;
  build?: unknown;
  network_mode?: string;
  cap_add?: string[];
  cap_drop?: string[];
  volumes?: (string | { type: string; source: string; target: string })[];
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;

  beforeAll(async () => {
    requireTools('compose validation', ['docker-compose']);
    await check(['docker-compose', '-f', join(ROOT, 'docker-compose.yml'), 'config', '--quiet']);
    const resolved = await check(['docker-compose', '-f', join(ROOT, 'docker-compose.yml'), 'config']);
    services = (parse(resolved) as { services: Record<string, ComposeService> }).services;
  }, 60_000);

  it('passes the compose tool\'s own config check and has the whole topology', () => {
    expect(Object.keys(services).sort()).toEqual(['bind', 'bind-init', 'bpfman', 'grafana', 'prometheus', 'santa']);
    expect(services.bind.image).toBe('internetsystemsconsortium/bind9:9.18');
    expect(services.bpfman.image).toBe('quay.io/bpfman/bpfman:v0.6.0');
    expect(services.santa.build).toBeDefined();
  });

  it('runs santa and bpfman in BIND\'s network namespace, santa with CAP_BPF only', () => {
    expect(services.santa.network_mode).toBe('service:bind');
    expect(services.bpfman.network_mode).toBe('service:bind');
    expect(services.santa.cap_drop).toEqual(['ALL']);
    expect(services.santa.cap_add).toEqual(['BPF']);
  });

  it('mounts only files of the repository that exist, and the same named.conf and zones into bind and santa', () => {
    const sources = (s: ComposeService) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v));
    for (const [name, s] of Object.entries(services)) {
      for (const v of sources(s)) {
        if (isAbsolute(v.source) && v.source.startsWith(ROOT)) expect({ service: name, source: v.source, exists: existsSync(v.source) }).toEqual({ service: name, source: v.source, exists: true });
      }
    }
    const mountOf = (svc: string, target: string) => sources(services[svc]).find((v) => v.target === target)?.source;
    for (const target of ['/etc/bind/named.conf', '/etc/bind/zones', '/var/cache/bind/includes', '/etc/bind/keys', '/var/log/bind']) {
      expect({ target, santa: mountOf('santa', target) }).toEqual({ target, santa: mountOf('bind', target) });
    }
  });
});

describe('deploy/compose/named.conf', () => {
  it('declares the zones of zones-example/zones.conf, with the same files under the /etc/bind/zones mount', () => {
    const read = (file: string) => readFileSync(file, 'utf8');
    // The rndc key and cookie secret exist only in the running deployment (made by bind-init).
    const compose = interpretNamedConf(read(join(COMPOSE, 'named.conf')), join(COMPOSE, 'named.conf'), (p) => (p.startsWith('/etc/bind/keys/') ? '' : read(p)), '/');
    const example = readNamedConf(join(ROOT, 'zones-example/named.conf'));
    const zones = (conf: NamedConf, base: string) => conf.zones.map((z) => ({ name: z.name, type: z.type, file: z.file && relative(base, z.file) })).sort((a, b) => a.name.localeCompare(b.name));
    expect(zones(compose, '/etc/bind/zones')).toEqual(zones(example, join(ROOT, 'zones-example')));
    expect(compose.options.recursion).toBe(false);
  });
});

describe('deploy/compose/santa.yaml', () => {
  it('is a valid configuration for santa run as compose runs it (bpfman loader, eth0, no overrides)', async () => {
    const { config } = await loadConfig({ file: join(COMPOSE, 'santa.yaml'), env: {}, cwd: '/' });
    expect(config.loader).toBe('bpfman');
    expect(config.interfaces.map((i) => i.name)).toEqual(['eth0']);
    expect(config.bpfman.socket).toBe('/run/bpfman-sock/bpfman.sock');
    expect(config.bind.reloadCommand).toMatch(/^rndc .*-k \/etc\/bind\/keys\/rndc\.key reload \{zone\}$/);
  });
});

describe('deploy/Dockerfile', () => {
  it('is clean under hadolint', async () => {
    requireTools('Dockerfile lint', ['python3']);
    const out = await check(['bash', join(__dirname, 'lint-dockerfile.sh')]);
    expect(out).toMatch(/deploy\/Dockerfile is clean/);
  }, 300_000);

  it('builds with compilers and runs without them', () => {
    const text = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/\bclang\b/);
    expect(stages[1]).not.toMatch(/\b(clang|gcc|make|llvm|build-essential)\b/);
    expect(stages[1]).toMatch(/\bbind9-utils\b/); // rndc for bind.reload_command
  });
});

describe('the runtime image layout (deploy/Dockerfile COPY --from=build lines)', () => {
  let image: string;
  beforeAll(async () => {
    // The build stage's /src: this checkout, with dist/ compiled into a scratch directory.
    const src = mkdtempSync(join(tmpdir(), 'santa-image-src-'));
    image = mkdtempSync(join(tmpdir(), 'santa-image-'));
    await run(['npx', 'tsc', '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(src, 'dist')], { cwd: ROOT, allowFailure: true, timeoutMs: 300_000 });
    const fromSrc = (p: string) => (p.startsWith('dist/') || p === 'dist' ? join(src, p) : join(ROOT, p));
    const runtime = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8').split(/^FROM /m).pop()!;
    const copies = [...runtime.matchAll(/^COPY --from=build (.+)$/gm)].map((m) => m[1].trim().split(/\s+/));
    expect(copies.length).toBeGreaterThan(3);
    for (const args of copies) {
      const dest = join(image, args[args.length - 1]);
      for (const from of args.slice(0, -1)) {
        const rel = from.replace(/^\/src\//, '');
        const to = dest.endsWith('/') || args.length > 2 ? join(dest, basename(rel)) : dest;
        mkdirSync(dirname(to), { recursive: true });
        if (rel === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), to);
        else cpSync(fromSrc(rel), to, { recursive: true });
      }
    }
    rmSync(src, { recursive: true, force: true });
  }, 300_000);
  afterAll(() => {
    if (image) rmSync(image, { recursive: true, force: true });
  });

  it('gives santa its CLI, native binding, XDP object and schemas from inside the image', async () => {
    const help = await check(['node', join(image, 'dist/sidecar/cli/main.js'), '--help'], tmpdir());
    expect(help).toMatch(/\brun\b/);
    const probe = [
      `const d = ${JSON.stringify(join(image, 'dist/sidecar'))};`,
      "console.log(JSON.stringify([require(d + '/loader/bpfman/client.js').protoPath(), require(d + '/bpf/native.js').nativeModulePath(), require(d + '/run/santa-run.js').defaultObjectPath()]));",
    ].join('\n');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SANTA_')));
    const r = await run(['node', '-e', probe], { cwd: tmpdir(), env });
    for (const p of JSON.parse(r.stdout) as string[]) {
      expect({ path: p, inImage: p.startsWith(image + '/'), exists: existsSync(p) }).toEqual({ path: p, inImage: true, exists: true });
    }
    expect(existsSync(join(image, 'sidecar/dnstap/dnstap.proto'))).toBe(true);
  }, 60_000);
});

describe('Prometheus configuration and alert rules', () => {
  beforeAll(() => requireTools('promtool checks', ['promtool']));

  it('passes promtool check config (which also checks the rule files it names)', async () => {
    const out = await check(['promtool', 'check', 'config', join(COMPOSE, 'prometheus/prometheus.yml')]);
    expect(out).toMatch(/SUCCESS: 6 rules found/);
  });

  it('fires each alert on the series that should trigger it (promtool test rules)', async () => {
    const out = await check(['promtool', 'test', 'rules', 'alerts.test.yml'], __dirname);
    expect(out).toMatch(/SUCCESS/);
  });
});

describe('metric names in the dashboard and the alerts', () => {
  // The names and labels Santa really exports: the exposition text of the registry it serves
  // /metrics from, fed with a snapshot of every part (families without data export no samples,
  // and their labels exist only on samples).
  const exported = new Set<string>();
  const labels = new Set<string>(['job', 'instance']); // added by Prometheus at scrape time
  beforeAll(async () => {
    const metrics = createMetrics(
      {
        xdp: () => ({ packets: 10, dnsQueries: 9, hits: 5, dryRunHits: 0, txBytes: 500, pass: { miss: 3, not_dns: 1 }, zoneChanges: 1, loopbackZoneChanges: 1 }),
        cache: () => ({ entries: 5, bytes: 400, capacityEntries: 100, capacityBytes: 65536, hitRatio: 0.6 }),
        zones: () => [{ zone: 'example.test', serial: 7, state: 'offloaded' }],
        querySource: () => ({ source: 'querylog', records: 9, unreadable: 0 }),
        loop: () => ({ zoneReloads: 1, zoneReloadErrors: 0, verifyChecks: 5, verifyFailures: 0, recheckWithdrawals: 0, zoneSetChanges: 0, namedConfReloads: 1, namedConfReloadErrors: 0, namedConfOk: true, installs: 5, removals: 0, renewals: 3 }),
        mode: () => 'on',
      },
      { version: 'test', loader: 'native' },
    );
    metrics.observeLoop(0.01);
    for (const line of (await metrics.render()).split('\n')) {
      const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? /.exec(line);
      if (!sample) continue;
      exported.add(sample[1]);
      for (const l of (sample[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]);
    }
  });
  const PROMETHEUS_OWN = new Set(['up']);

  const dashboard = JSON.parse(readFileSync(join(COMPOSE, 'grafana/dashboards/santa.json'), 'utf8'));
  const alerts = parse(readFileSync(join(COMPOSE, 'prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const exprs = [
    ...dashboardQueries(dashboard).map((q) => ({ where: `dashboard panel "${q.panel}"`, expr: q.expr })),
    ...alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
  ];

  it('the registry is Santa\'s (sanity: it has the hit counter and process metrics)', () => {
    expect(exported).toContain('santa_cache_hits_total');
    expect(exported).toContain('process_cpu_seconds_total');
  });

  it.each(exprs.map((e) => [e.where, e.expr]))('%s uses only exported metrics and labels', (_where, expr) => {
    const names = metricNames(expr);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n))).toEqual([]);
    expect(labelNames(expr).filter((l) => !labels.has(l))).toEqual([]);
  });

  it('the dashboard covers hit ratio, hits vs passes by reason, entries vs capacity, zone states and reloads', () => {
    const all = dashboardQueries(dashboard).map((q) => q.expr).join('\n');
    for (const needed of ['santa_cache_hits_total', 'santa_cache_misses_total', 'santa_xdp_packets_total', 'santa_cache_entries', 'santa_cache_capacity_entries', 'santa_zone_state', 'santa_zone_reloads_total']) {
      expect(all).toContain(needed);
    }
    expect(all).toMatch(/by \(reason\)/);
  });

  it('the dashboard is wired to the provisioned data source and provisioned from where compose mounts it', async () => {
    const datasources = parse(readFileSync(join(COMPOSE, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; url: string }[] };
    const providers = parse(readFileSync(join(COMPOSE, 'grafana/provisioning/dashboards/santa.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const uids = new Set<string>();
    const walk = (x: unknown) => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (x && typeof x === 'object') {
        const o = x as Record<string, unknown>;
        if (o.datasource && typeof o.datasource === 'object') uids.add((o.datasource as { uid: string }).uid);
        Object.values(o).forEach(walk);
      }
    };
    walk(dashboard.panels);
    expect([...uids]).toEqual([datasources.datasources[0].uid]);
    expect(datasources.datasources[0].url).toBe('http://prometheus:9090');
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const resolved = parse((await check(['docker-compose', '-f', join(ROOT, 'docker-compose.yml'), 'config'])).toString()) as { services: Record<string, ComposeService> };
    const grafanaMounts = (resolved.services.grafana.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]));
    expect(grafanaMounts).toContainEqual(expect.arrayContaining([join(COMPOSE, 'grafana/dashboards'), providers.providers[0].options.path]));
  }, 60_000);

  it('the name extraction catches a name Santa does not export', () => {
    expect(metricNames('sum(rate(santa_cache_hitz_total{result="tx"}[5m])) by (reason)').filter((n) => !exported.has(n))).toEqual(['santa_cache_hitz_total']);
  });
});

describe('deploy/systemd/santa.service', () => {
  it('passes systemd-analyze verify', async () => {
    requireTools('systemd unit check', ['systemd-analyze']);
    const out = await check(['systemd-analyze', 'verify', join(ROOT, 'deploy/systemd/santa.service')]);
    expect(out.trim()).toBe('');
  });
});

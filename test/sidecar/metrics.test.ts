/**
 * Santa's metrics: values come from the snapshot provider at scrape time, the exposition parses
 * and passes `promtool check metrics`, a failing provider part leaves the rest intact, and the
 * HTTP server serves /metrics and /healthz and shuts down cleanly.
 */
import { readFileSync } from 'fs';
import { request } from 'http';
import { join } from 'path';
import {
  PASS_REASONS,
  createMetrics,
  startMetricsServer,
  type MetricsServer,
  type SnapshotProvider,
  type XdpCounters,
} from '../../sidecar/metrics';
import { run } from '../support/process';
import { requireTools } from '../support/require-root';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition: samples plus HELP and TYPE per family. */
function parseExposition(text: string) {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : type).set(m[2], m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (found.length !== 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(labels)}`);
    return found[0].value;
  };
  const has = (name: string) => samples.some((s) => s.name === name);
  return { samples, help, type, value, has };
}

function xdp(overrides: Partial<XdpCounters> = {}): XdpCounters {
  return {
    packets: 1000,
    dnsQueries: 900,
    hits: 700,
    dryRunHits: 0,
    txBytes: 70_000,
    pass: { not_dns: 100, miss: 150, expired: 10, malformed: 40 },
    zoneChanges: 3,
    loopbackZoneChanges: 2,
    ...overrides,
  };
}

function provider(state: { xdp: XdpCounters }): SnapshotProvider {
  return {
    xdp: async () => state.xdp,
    cache: () => ({ entries: 42, bytes: 4200, capacityEntries: 100_000, capacityBytes: 64 * 2 ** 20, hitRatio: 0.8 }),
    zones: () => [
      { zone: 'example.test.', serial: 2026112701, state: 'offloaded' },
      { zone: 'broken.test.', state: 'error' },
    ],
    querySource: () => ({ source: 'querylog', records: 5000, unreadable: 3 }),
    loop: () => ({ zoneReloads: 4, zoneReloadErrors: 1, zoneTransfers: 6, zoneTransfersRefused: 2, notifies: 9, verifyChecks: 50, verifyFailures: 2, installs: 45, removals: 3, renewals: 120 }),
    mode: () => 'dry-run',
  };
}

describe('metric values come from the snapshot provider', () => {
  const state = { xdp: xdp() };
  const metrics = createMetrics(provider(state), { version: '0.1.0', loader: 'native' });

  test('XDP packets by result and reason, hits and misses', async () => {
    const m = parseExposition(await metrics.render());
    expect(m.value('santa_xdp_packets_total', { result: 'tx', reason: 'hit' })).toBe(700);
    expect(m.value('santa_xdp_packets_total', { result: 'pass', reason: 'miss' })).toBe(150);
    expect(m.value('santa_xdp_packets_total', { result: 'pass', reason: 'not_dns' })).toBe(100);
    // Every reason is exported, zero or not, so rate() works from the first scrape.
    for (const reason of PASS_REASONS) expect(m.value('santa_xdp_packets_total', { result: 'pass', reason })).toBeGreaterThanOrEqual(0);
    expect(m.value('santa_xdp_dns_queries_total')).toBe(900);
    expect(m.value('santa_xdp_tx_bytes_total')).toBe(70_000);
    expect(m.value('santa_cache_hits_total')).toBe(700);
    expect(m.value('santa_cache_misses_total')).toBe(160);
    expect(m.type.get('santa_xdp_packets_total')).toBe('counter');
    expect(m.value('santa_zone_changes_total', { seen_on: 'interface' })).toBe(3);
    expect(m.value('santa_zone_changes_total', { seen_on: 'loopback' })).toBe(2);
  });

  test('cache, zones, loop, query source and mode', async () => {
    const m = parseExposition(await metrics.render());
    expect(m.value('santa_cache_entries')).toBe(42);
    expect(m.value('santa_cache_bytes')).toBe(4200);
    expect(m.value('santa_cache_capacity_entries')).toBe(100_000);
    expect(m.value('santa_cache_capacity_bytes')).toBe(64 * 2 ** 20);
    expect(m.value('santa_cache_hit_ratio')).toBeCloseTo(0.8);
    expect(m.value('santa_zone_serial', { zone: 'example.test.' })).toBe(2026112701);
    expect(m.samples.filter((s) => s.name === 'santa_zone_serial' && s.labels.zone === 'broken.test.')).toEqual([]);
    expect(m.value('santa_zone_state', { zone: 'example.test.', state: 'offloaded' })).toBe(1);
    expect(m.value('santa_zone_state', { zone: 'broken.test.', state: 'error' })).toBe(1);
    expect(m.samples.filter((s) => s.name === 'santa_zone_state')).toHaveLength(2);
    expect(m.value('santa_zone_reloads_total', { result: 'ok' })).toBe(4);
    expect(m.value('santa_zone_reloads_total', { result: 'error' })).toBe(1);
    expect(m.value('santa_zone_transfers_total', { result: 'taken' })).toBe(6);
    expect(m.value('santa_zone_transfers_total', { result: 'refused' })).toBe(2);
    expect(m.value('santa_notify_received_total')).toBe(9);
    expect(m.value('santa_verify_checks_total')).toBe(50);
    expect(m.value('santa_verify_failures_total')).toBe(2);
    expect(m.value('santa_cache_updates_total', { op: 'renew' })).toBe(120);
    expect(m.value('santa_query_source_records_total', { source: 'querylog' })).toBe(5000);
    expect(m.value('santa_query_source_unreadable_total', { source: 'querylog' })).toBe(3);
    expect(m.value('santa_mode', { mode: 'dry-run' })).toBe(1);
    expect(m.value('santa_mode', { mode: 'on' })).toBe(0);
    expect(m.value('santa_build_info', { version: '0.1.0', loader: 'native' })).toBe(1);
    expect(m.has('process_cpu_user_seconds_total')).toBe(true);
  });

  test('counters follow the provider between scrapes', async () => {
    state.xdp = xdp({ hits: 900 });
    expect(parseExposition(await metrics.render()).value('santa_cache_hits_total')).toBe(900);
  });

  test('the control-loop histogram records observations', async () => {
    metrics.observeLoop(0.02);
    metrics.observeLoop(0.3);
    metrics.observeLoop(Number.NaN); // ignored, not a corrupt sample
    const m = parseExposition(await metrics.render());
    expect(m.value('santa_control_loop_duration_seconds_count')).toBe(2);
    expect(m.value('santa_control_loop_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(m.value('santa_control_loop_duration_seconds_sum')).toBeCloseTo(0.32);
  });

  test('the exposition passes promtool check metrics', async () => {
    requireTools('metrics lint', ['promtool']);
    // Without prom-client's Node.js metrics: three of those (nodejs_active_*_total gauges) break
    // the linter's naming rule, and they are prom-client's names, not ours.
    const own = createMetrics(provider(state), { version: '0.1.0', loader: 'native', processMetrics: false });
    own.observeLoop(0.1);
    const r = await run(['promtool', 'check', 'metrics'], { input: await own.render(), allowFailure: true });
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
  });

  test('every exported santa_ metric is documented in sidecar/metrics/README.md', async () => {
    const readme = readFileSync(join(__dirname, '../../sidecar/metrics/README.md'), 'utf8');
    const m = parseExposition(await metrics.render());
    const families = [...m.type.keys()].filter((n) => n.startsWith('santa_'));
    expect(families.length).toBeGreaterThan(15);
    for (const name of families) {
      expect([name, readme.includes(`\`${name}\``)]).toEqual([name, true]);
      expect([name, (m.help.get(name) ?? '').length > 10]).toEqual([name, true]);
    }
  });
});

describe('a failing part does not take the others down', () => {
  test('the XDP read throws: XDP metrics are absent, the rest is there, the error is counted', async () => {
    const metrics = createMetrics(
      {
        xdp: async () => {
          throw new Error('map gone');
        },
        cache: () => ({ entries: 1, bytes: 2, capacityEntries: 3, capacityBytes: 4 }),
      },
      { version: 'test', loader: 'bpfman', processMetrics: false },
    );
    const m = parseExposition(await metrics.render());
    expect(m.samples.filter((s) => s.name === 'santa_xdp_packets_total')).toEqual([]);
    expect(m.value('santa_cache_entries')).toBe(1);
    expect(m.samples.filter((s) => s.name === 'santa_cache_hit_ratio')).toEqual([]);
    expect(m.value('santa_metrics_collect_errors_total', { part: 'xdp' })).toBe(1);
    expect(m.has('process_cpu_user_seconds_total')).toBe(false);
  });
});

describe('the HTTP server', () => {
  let server: MetricsServer;
  let healthy = true;
  let fail = false;
  const metrics = createMetrics(provider({ xdp: xdp() }), { version: '0.1.0', loader: 'native', processMetrics: false });

  beforeAll(async () => {
    server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      render: async () => {
        if (fail) throw new Error('registry broke');
        return metrics.render();
      },
      contentType: metrics.registry.contentType,
      health: () => (healthy ? { ok: true, detail: 'loop ran 1 s ago' } : { ok: false, detail: 'control loop stalled for 60 s' }),
    });
  });
  afterAll(() => server.close());

  const url = (path: string) => `http://127.0.0.1:${server.address.port}${path}`;

  test('/metrics serves the exposition with the Prometheus content type', async () => {
    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parseExposition(await res.text()).value('santa_cache_entries')).toBe(42);
  });

  test('/healthz says ok or why not', async () => {
    let res = await fetch(url('/healthz'));
    expect([res.status, await res.text()]).toEqual([200, 'ok: loop ran 1 s ago\n']);
    healthy = false;
    res = await fetch(url('/healthz'));
    expect([res.status, await res.text()]).toEqual([503, 'unhealthy: control loop stalled for 60 s\n']);
    healthy = true;
  });

  test('unknown paths, other methods and render failures', async () => {
    expect((await fetch(url('/'))).status).toBe(404);
    expect((await fetch(url('/metrics'), { method: 'POST' })).status).toBe(405);
    fail = true;
    const res = await fetch(url('/metrics'));
    fail = false;
    expect([res.status, await res.text()]).toEqual([500, 'metrics unavailable: registry broke\n']);
  });

  test('close() returns promptly with a keep-alive connection open, and frees the port', async () => {
    const other = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      render: () => metrics.render(),
      contentType: metrics.registry.contentType,
      health: () => ({ ok: true, detail: '' }),
    });
    const agentPort = other.address.port;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: agentPort, path: '/healthz', headers: { Connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(fetch(`http://127.0.0.1:${agentPort}/healthz`)).rejects.toThrow();
  });

  test('a taken port is an error naming the address', async () => {
    await expect(
      startMetricsServer({
        host: '127.0.0.1',
        port: server.address.port,
        render: () => metrics.render(),
        contentType: metrics.registry.contentType,
        health: () => ({ ok: true, detail: '' }),
      }),
    ).rejects.toThrow(/EADDRINUSE.*127\.0\.0\.1/);
  });
});

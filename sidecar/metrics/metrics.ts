/**
 * Santa's Prometheus metrics. Values are not pushed into the registry as things happen; at
 * each scrape the registry asks a snapshot provider (functions the control loop supplies) for
 * the current numbers: per-CPU XDP counters summed, cache occupancy, zone states, query source
 * counts. render() reads every provider once (so all metrics of a scrape come from the same
 * moment) and then formats. That keeps one source of truth (the BPF maps and the control loop's state) and makes
 * the module testable without BPF. Only the control-loop duration is an event, recorded with
 * observeLoop().
 *
 * Naming: base units (seconds, bytes), _total for counters, labels with a small fixed set of
 * values; the only open-ended label is `zone`, one series per offloaded zone.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Why the XDP program passed a packet to the kernel (santa_abi.h SANTA_CNT_PASS_*). */
export const PASS_REASONS = [
  'disabled',
  'not_dns',
  'fragment',
  'malformed',
  'unsupported',
  'edns_version',
  'edns_options',
  'miss',
  'expired',
  'too_big',
  'no_room',
  'bad_cookie',
  'zone_changed',
  'blackhole',
] as const;
export type PassReason = (typeof PASS_REASONS)[number];

export const ZONE_STATES = ['offloaded', 'pending', 'withdrawn', 'error'] as const;
export type ZoneState = (typeof ZONE_STATES)[number];

export const MODES = ['on', 'dry-run', 'off'] as const;

/** santa_stats summed over CPUs. */
export interface XdpCounters {
  packets: number;
  dnsQueries: number;
  hits: number;
  dryRunHits: number;
  txBytes: number;
  pass: Partial<Record<PassReason, number>>;
  /** Response rate limiting: replies dropped, replies slipped (sent truncated), and replies that
   * would have been limited under log-only (and were answered). */
  rrlDropped?: number;
  rrlSlipped?: number;
  rrlWouldLimit?: number;
  /** UPDATE and NOTIFY messages seen on their way to BIND (zone change guard): by santa_xdp on
   * the interface it answers on, and by santa_lo_guard on the loopback device. */
  zoneChanges?: number;
  loopbackZoneChanges?: number;
}

export interface CacheSnapshot {
  entries: number;
  bytes: number;
  capacityEntries: number;
  capacityBytes: number;
  /** Hits / (hits + misses) over the last ranking interval; undefined before there is one. */
  hitRatio?: number;
}

export interface ZoneSnapshot {
  zone: string;
  /** The SOA serial Santa parsed; undefined when the zone did not parse. */
  serial?: number;
  state: ZoneState;
}

export interface QuerySourceSnapshot {
  /** querylog | dnstap */
  source: string;
  /** Log lines or dnstap frames read. */
  records: number;
  /** Lines or frames that could not be understood. */
  unreadable: number;
}

/** Counts the control loop keeps (monotonic since start). */
export interface LoopCounters {
  zoneReloads: number;
  zoneReloadErrors: number;
  /** Transfers of zones named signs (bind.signed_zones: transfer), taken and not taken. */
  zoneTransfers?: number;
  zoneTransfersRefused?: number;
  /** NOTIFY messages from named for zones Santa serves (bind.notify_listen). */
  notifies?: number;
  verifyChecks: number;
  verifyFailures: number;
  /** Answers in service withdrawn because BIND answered a recheck differently. */
  recheckWithdrawals?: number;
  /** Signs that zones were added or deleted in named (allow-new-zones files, catalog zones). */
  zoneSetChanges?: number;
  /** named.conf changes that had santa run read it again, by result. */
  namedConfReloads?: number;
  namedConfReloadErrors?: number;
  /** Whether the latest read of named.conf succeeded (nothing is cached while it does not). */
  namedConfOk?: boolean;
  installs: number;
  removals: number;
  renewals: number;
}

/** Every function is optional so parts can be wired as they come; absent ones export nothing. */
export interface SnapshotProvider {
  xdp?(): XdpCounters | undefined | Promise<XdpCounters | undefined>;
  cache?(): CacheSnapshot | undefined;
  zones?(): ReadonlyArray<ZoneSnapshot>;
  querySource?(): QuerySourceSnapshot | undefined;
  loop?(): LoopCounters | undefined;
  mode?(): (typeof MODES)[number] | undefined;
}

export interface SantaMetrics {
  readonly registry: Registry;
  /** Reads the providers once and returns the exposition text (what /metrics serves). */
  render(): Promise<string>;
  /** Records one control-loop round. */
  observeLoop(seconds: number): void;
}

export interface MetricsOptions {
  version: string;
  loader: string;
  /** Node.js process metrics (CPU, memory, event loop); default true. */
  processMetrics?: boolean;
}

export function createMetrics(provider: SnapshotProvider, options: MetricsOptions): SantaMetrics {
  const registry = new Registry();
  const collectErrors = new Counter({
    name: 'santa_metrics_collect_errors_total',
    help: 'Scrapes at which a part of Santa could not report its metrics (those metrics were left out)',
    labelNames: ['part'],
    registers: [registry],
  });

  /** A failing part must not take every other metric down with it. */
  async function safely<T>(part: string, read: (() => T | Promise<T>) | undefined): Promise<T | undefined> {
    if (read === undefined) return undefined;
    try {
      return await read();
    } catch {
      collectErrors.inc({ part });
      return undefined;
    }
  }

  let xdpSnapshot: XdpCounters | undefined;
  let cacheSnapshot: CacheSnapshot | undefined;
  let zonesSnapshot: ReadonlyArray<ZoneSnapshot> = [];
  let loopSnapshot: LoopCounters | undefined;
  let sourceSnapshot: QuerySourceSnapshot | undefined;
  let modeSnapshot: (typeof MODES)[number] | undefined;
  async function refresh(): Promise<void> {
    xdpSnapshot = await safely('xdp', provider.xdp?.bind(provider));
    cacheSnapshot = await safely('cache', provider.cache?.bind(provider));
    zonesSnapshot = (await safely('zones', provider.zones?.bind(provider))) ?? [];
    loopSnapshot = await safely('loop', provider.loop?.bind(provider));
    sourceSnapshot = await safely('query_source', provider.querySource?.bind(provider));
    modeSnapshot = await safely('mode', provider.mode?.bind(provider));
  }

  type Sample = { labels: Record<string, string>; value: number };
  /** A family whose samples are derived from the snapshots at scrape time. When its part has
   * nothing to report it exports no samples at all, rather than a 0 that would read as a
   * counter reset or a collapsed ratio. */
  const family = (name: string, help: string, type: 'counter' | 'gauge', read: () => Sample[]) => {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      async get() {
        const values = read().filter((v) => Number.isFinite(v.value) && (type === 'gauge' || v.value >= 0));
        return { name, help, type, aggregator: 'sum', values };
      },
      reset() {},
    };
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  };
  const one = (value: number | undefined, labels: Record<string, string> = {}): Sample[] =>
    value === undefined ? [] : [{ labels, value }];

  family(
    'santa_xdp_packets_total',
    'Packets seen by the XDP program, by result (tx: answered from the cache; pass: handed to the kernel and BIND; drop: dropped by rate limiting) and reason',
    'counter',
    () => {
      const x = xdpSnapshot;
      if (!x) return [];
      return [
        { labels: { result: 'tx', reason: 'hit' }, value: x.hits },
        { labels: { result: 'tx', reason: 'rrl_slip' }, value: x.rrlSlipped ?? 0 },
        { labels: { result: 'drop', reason: 'rrl_drop' }, value: x.rrlDropped ?? 0 },
        { labels: { result: 'pass', reason: 'dry_run_hit' }, value: x.dryRunHits },
        ...PASS_REASONS.map((reason) => ({ labels: { result: 'pass', reason }, value: x.pass[reason] ?? 0 })),
      ];
    },
  );
  family('santa_xdp_dns_queries_total', 'UDP packets to a served DNS port and address seen by the XDP program', 'counter', () =>
    one(xdpSnapshot?.dnsQueries),
  );
  family('santa_rrl_would_limit_total', 'Replies rate limiting would have dropped or slipped under log-only (they were answered)', 'counter', () =>
    one(xdpSnapshot?.rrlWouldLimit),
  );
  family(
    'santa_zone_changes_total',
    "UPDATE and NOTIFY messages, and answers to zone transfers BIND asked for, seen on their way to BIND, by where (interface: by the XDP program; loopback: by its tc guard on lo); each stops the named zone's cached answers until they are verified again",
    'counter',
    () => [...one(xdpSnapshot?.zoneChanges, { seen_on: 'interface' }), ...one(xdpSnapshot?.loopbackZoneChanges, { seen_on: 'loopback' })],
  );
  family('santa_xdp_tx_bytes_total', 'Bytes of the reply frames the XDP program sent', 'counter', () => one(xdpSnapshot?.txBytes));
  family('santa_cache_hits_total', 'DNS queries answered from the cache by XDP', 'counter', () => one(xdpSnapshot?.hits));
  family(
    'santa_cache_misses_total',
    'DNS queries the cache could have answered by form but held no valid entry for (no entry, or lease expired)',
    'counter',
    () => one(xdpSnapshot ? (xdpSnapshot.pass.miss ?? 0) + (xdpSnapshot.pass.expired ?? 0) : undefined),
  );

  family('santa_cache_entries', 'Entries installed in the XDP cache', 'gauge', () => one(cacheSnapshot?.entries));
  family('santa_cache_bytes', 'Bytes of prebuilt responses installed in the XDP cache', 'gauge', () => one(cacheSnapshot?.bytes));
  family('santa_cache_capacity_entries', 'Most entries the cache may hold (cache.max_entries)', 'gauge', () =>
    one(cacheSnapshot?.capacityEntries),
  );
  family('santa_cache_capacity_bytes', 'Most response bytes the cache may hold (cache.max_bytes)', 'gauge', () =>
    one(cacheSnapshot?.capacityBytes),
  );
  family(
    'santa_cache_hit_ratio',
    'Fraction of cacheable DNS queries answered from the cache over the last ranking interval',
    'gauge',
    () => one(cacheSnapshot?.hitRatio),
  );
  family(
    'santa_cache_updates_total',
    'Cache map operations, by op (install: new or changed entry; remove; renew: lease extended)',
    'counter',
    () =>
      loopSnapshot
        ? [
            { labels: { op: 'install' }, value: loopSnapshot.installs },
            { labels: { op: 'remove' }, value: loopSnapshot.removals },
            { labels: { op: 'renew' }, value: loopSnapshot.renewals },
          ]
        : [],
  );

  family('santa_zone_serial', 'SOA serial of the zone data Santa parsed', 'gauge', () =>
    zonesSnapshot.flatMap((z) => one(z.serial, { zone: z.zone })),
  );
  // One series per zone (its current state) rather than one per zone and state: hosting
  // servers carry thousands of zones, and four series each would quadruple the scrape.
  family(
    'santa_zone_state',
    'Santa state of each zone (offloaded, pending, withdrawn, error); one series per zone, value 1, labelled with its current state',
    'gauge',
    () => zonesSnapshot.map((z) => ({ labels: { zone: z.zone, state: z.state }, value: 1 })),
  );
  family(
    'santa_zone_reloads_total',
    'Zone re-reads after a change, by result (ok, error: the zone did not parse and was withdrawn)',
    'counter',
    () =>
      loopSnapshot
        ? [
            { labels: { result: 'ok' }, value: loopSnapshot.zoneReloads },
            { labels: { result: 'error' }, value: loopSnapshot.zoneReloadErrors },
          ]
        : [],
  );
  family(
    'santa_zone_transfers_total',
    'Transfers of zones named signs (bind.signed_zones: transfer), by result (taken; refused: failed, or not yet the signed form of the zone file)',
    'counter',
    () =>
      loopSnapshot?.zoneTransfers !== undefined
        ? [
            { labels: { result: 'taken' }, value: loopSnapshot.zoneTransfers },
            { labels: { result: 'refused' }, value: loopSnapshot.zoneTransfersRefused ?? 0 },
          ]
        : [],
  );
  family('santa_notify_received_total', "NOTIFY messages from named for zones Santa serves (bind.notify_listen): each has the zone's serial asked at once", 'counter', () =>
    one(loopSnapshot?.notifies),
  );
  family('santa_verify_checks_total', 'Built responses compared with BIND: before installing, and again every bind.recheck_seconds while installed', 'counter', () =>
    one(loopSnapshot?.verifyChecks),
  );
  family('santa_verify_failures_total', 'Built responses that differed from BIND (or that BIND did not answer) and were not installed, or were withdrawn', 'counter', () =>
    one(loopSnapshot?.verifyFailures),
  );
  family('santa_recheck_withdrawals_total', 'Answers in service withdrawn because BIND answered their recheck differently (a zone added or deleted under named, a changed configuration)', 'counter', () =>
    one(loopSnapshot?.recheckWithdrawals),
  );
  family('santa_zone_set_changes_total', 'Signs that zones were added to or deleted from named without named.conf changing (a new-zone file of allow-new-zones, a catalog zone transfer); each stops every cached answer until it is asked of BIND again', 'counter', () =>
    one(loopSnapshot?.zoneSetChanges),
  );
  family('santa_named_conf_ok', '1 when the latest read of named.conf succeeded; 0 while it does not read (nothing is cached, BIND answers everything)', 'gauge', () =>
    loopSnapshot?.namedConfOk === undefined ? [] : one(loopSnapshot.namedConfOk ? 1 : 0),
  );
  family(
    'santa_named_conf_reloads_total',
    'named.conf changes that had santa run read it again, by result (ok; error: it did not read, and nothing is cached until it does)',
    'counter',
    () =>
      loopSnapshot?.namedConfReloads === undefined
        ? []
        : [
            { labels: { result: 'ok' }, value: loopSnapshot.namedConfReloads },
            { labels: { result: 'error' }, value: loopSnapshot.namedConfReloadErrors ?? 0 },
          ],
  );

  family('santa_query_source_records_total', 'Query log lines or dnstap frames read, by source', 'counter', () =>
    one(sourceSnapshot?.records, { source: sourceSnapshot?.source ?? '' }),
  );
  family(
    'santa_query_source_unreadable_total',
    'Query log lines or dnstap frames that could not be understood, by source',
    'counter',
    () => one(sourceSnapshot?.unreadable, { source: sourceSnapshot?.source ?? '' }),
  );

  family('santa_mode', 'Operating mode: 1 for the current one (on, dry-run, off), 0 for the others', 'gauge', () =>
    modeSnapshot === undefined ? [] : MODES.map((mode) => ({ labels: { mode }, value: mode === modeSnapshot ? 1 : 0 })),
  );
  new Gauge({
    name: 'santa_build_info',
    help: 'Always 1; labels carry the version and the loader in use',
    labelNames: ['version', 'loader'],
    registers: [registry],
  }).set({ version: options.version, loader: options.loader }, 1);

  const loopDuration = new Histogram({
    name: 'santa_control_loop_duration_seconds',
    help: 'Duration of one control-loop round (rank, build, verify, install, renew)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    async render() {
      await refresh();
      return registry.metrics();
    },
    observeLoop(seconds: number) {
      if (Number.isFinite(seconds) && seconds >= 0) loopDuration.observe(seconds);
    },
  };
}

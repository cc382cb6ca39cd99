/**
 * `santa run`: the long-running sidecar. Wires the parts together and owns every timer, watcher
 * and socket; the decisions live in the parts (ranking, builder, controller, freshness).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { maxEntriesFor, santaAbi } from '../bpf/abi';
import { SantaMaps } from '../bpf/maps';
import { loadNative } from '../bpf/native';
import type { SantaConfig } from '../config';
import { cookieSettingsSource, CLOCK_REFRESH_MS } from '../cookies';
import { transferZone } from '../dns/axfr';
import { encodeQuery, exchange, soaSerial, type ServerAddress } from '../dns/client';
import { listenForNotify } from '../dns/notify';
import { TcpPipeline } from '../dns/tcp-pipeline';
import { createMetrics, startMetricsServer, type MetricsServer, type PassReason, type XdpCounters } from '../metrics';
import { blackholeList, readNamedConf, type NamedConf } from '../named-conf/read';
import { followListen, listenSettings, newlyListed, sameListen, type ListenSettings } from './listen';
import { formatPrefix, type AddressPrefix } from '../named-conf/address-match';
import { applyRateLimit, rateLimitFromConf } from '../rrl';
import { isCacheable } from '../ranking/feed';
import { HotSetRanking } from '../ranking/hot-set-ranking';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, type QueryEvent, type QuestionKey } from '../ranking/question-key';
import { CacheController, leftoverFromMap, type AskBind, type LeftoverEntry } from './controller';
import { createLoader, targetsOf } from './loaders';
import { ensureLoopbackGuards } from './loopback-guard';
import { openQuerySource } from './query-source';
import { TransferScheduler } from './transfer-scheduler';
import { ZoneChangeWatch } from './zone-change-watch';
import { ZoneRegistry, type ZoneChange } from './zone-registry';

/** How often the host's addresses are compared with what the program answers for. */
const LISTEN_SCAN_MS = 1000;

/** How often the zone change guard's generations are read. The program stops a changed zone's
 * answers by itself; this only sets how soon Santa starts to verify it again. */
const ZONE_WATCH_MS = 200;

export interface RunOptions {
  config: SantaConfig;
  log: Logger;
  version: string;
  /** Quiet time after a zone file event before the file is read. */
  reparseDelayMs?: number;
  /** Pause before a zone transfer that was not taken is tried again; it doubles with each
   * failure in a row, up to a minute. */
  transferRetryMs?: number;
  /** The hot set of the run this one replaces (named.conf read again): what was hot stays so. */
  ranking?: HotSetRanking;
  /** named.conf re-reads so far (kept by the supervisor across runs), for the metrics; `ok`:
   * whether the latest read succeeded. */
  namedConfReloads?: () => { ok: number; errors: number; latestOk: boolean };
}

export interface RunningSanta {
  readonly controller: CacheController;
  readonly registry: ZoneRegistry;
  readonly maps: SantaMaps;
  readonly metrics: MetricsServer | undefined;
  readonly ranking: HotSetRanking;
  /** named.conf as this run read it. */
  readonly conf: NamedConf;
  /** Every file of named.conf as this run read it (the main one and its includes). */
  readonly namedConfFiles: readonly string[];
  /** Runs one control-loop round now (tests, `kill -USR1`). */
  tickNow(): Promise<void>;
  /** Installs nothing from here on (named.conf changed under this run) and withdraws the entries
   * of `zones`, or every entry: BIND answers them until a run with the new configuration takes
   * over (and takes over the entries left, verifying them again). */
  pause(zones?: readonly string[]): Promise<number>;
  /** Stops timers, watchers and sockets. Entries stay until their leases expire. */
  stop(): Promise<void>;
}

/** The XDP object built with this checkout (xdp/build/santa.bpf.o). */
export function defaultObjectPath(): string {
  for (const up of ['../../xdp/build/santa.bpf.o', '../../../xdp/build/santa.bpf.o']) {
    const candidate = resolve(__dirname, up);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('xdp/build/santa.bpf.o is missing: run `make -C xdp` (or set bpf_object)');
}

/** The addresses of this network namespace's interfaces (Santa shares named's). */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Reads named.conf and everything santa run takes from it, before anything is attached: a
 * problem throws, naming its file and line. Also how a changed named.conf is checked before the
 * run it would replace is stopped (supervise.ts).
 */
export function readRunConf(config: SantaConfig): { conf: NamedConf; blackhole: AddressPrefix[]; listen: ListenSettings } {
  const conf = readNamedConf(config.namedConf);
  // BIND's RRL never sees what XDP answers: the program applies the same rate-limit itself.
  rateLimitFromConf(conf);
  // Nor does named see queries from the clients it blackholes: the program must not answer them.
  const blackhole = blackholeList(conf);
  const listen = listenSettings(conf, hostAddresses(), santaAbi().limits.MAX_ADDRS);
  return { conf, blackhole, listen };
}

export async function runSanta(options: RunOptions): Promise<RunningSanta> {
  const { config, log } = options;
  const abi = santaAbi();
  const { conf, blackhole, listen: listenAtStart } = readRunConf(config);
  let listen = listenAtStart;
  const registry = new ZoneRegistry(conf, { signedZones: config.bind.signedZones, secondaryZones: config.bind.secondaryZones });
  for (const s of registry.skipped) log.warn({ zone: s.zone, reason: s.reason }, 'zone not offloaded');
  if (blackhole.length) log.info({ blackhole: blackhole.map(formatPrefix) }, 'queries from blackholed clients are left to BIND, which drops them');
  const bind: { v4: ServerAddress; v6?: ServerAddress } = { v4: config.bind.address, v6: config.bind.addressV6 };

  const targets = targetsOf(config);
  const loader = createLoader(config, config.bpfObject ?? defaultObjectPath());
  const attachments = [];
  for (const target of targets) {
    const a = await loader.ensure(target);
    log.info({ iface: target.iface, netns: target.netns, programId: a.programId, adopted: a.adopted, replaced: a.replaced }, 'XDP program in place');
    attachments.push(a);
  }
  await ensureLoopbackGuards(config, loader, targets, log);
  const source = attachments[0].maps;
  const bpf = loadNative();
  const maps = source.kind === 'pinned' ? SantaMaps.openPinned(source.dir, bpf, abi) : SantaMaps.fromLoadedObject({ id: -1, progs: {}, maps: { ...source.fds } }, bpf, abi);
  const rrl = applyRateLimit(conf, source, bpf, abi, log);
  for (const warning of listen.warnings) log.warn({ warning }, 'listen-on');
  const cookies = cookieSettingsSource(conf.options);
  if (cookies.reason) log.info({ reason: cookies.reason }, 'queries with DNS cookies are left to BIND');
  const writeSettings = () =>
    maps.writeSettings({ mode: config.mode, maxUdpSize: conf.options.maxUdpSize, ports: listen.ports, v4Addrs: listen.v4, v6Addrs: listen.v6, cookie: cookies.settings?.(), blackhole, nocookieUdpSize: conf.options.nocookieUdpSize });
  writeSettings();
  // Cookie timestamps are wall-clock seconds; the program knows the wall clock only through this.
  const clockTimer = cookies.settings && setInterval(() => {
    try {
      writeSettings();
    } catch (e) {
      log.error({ error: (e as Error).message }, 'cannot refresh the cookie clock in the settings map');
    }
  }, CLOCK_REFRESH_MS);

  const ranking = options.ranking ?? new HotSetRanking({ capacity: Math.max(1024, config.cache.maxEntries * 4), halfLifeMs: config.ranking.intervalSeconds * 1000 * 30, startMs: Date.now() });
  // Verifications and rechecks go over one pipelined TCP connection per family, not one each.
  const toBind = { v4: new TcpPipeline(bind.v4), v6: bind.v6 && new TcpPipeline(bind.v6) };
  const askBind: AskBind = async (key: QuestionKey) => {
    const pipeline = key.flags & KEY_V6 ? toBind.v6 : toBind.v4;
    // BIND orders glue by the client's family: an IPv6 answer can only be checked over IPv6.
    if (!pipeline) throw new Error('no bind.address_v6 configured to verify answers for IPv6 clients');
    const bits = { rd: (key.flags & KEY_RD) !== 0, edns: (key.flags & KEY_EDNS) !== 0, do: (key.flags & KEY_DO) !== 0, udpSize: 1232 };
    return pipeline.ask(encodeQuery({ name: key.name, type: key.qtype }, bits, 0));
  };
  // Maps sized by someone else (bpfman loads the object's defaults) may hold fewer.
  const cacheEntries = Math.min(config.cache.maxEntries, maxEntriesFor(maps.capacity(abi.maps.entries)), maps.capacity(abi.maps.hits));
  if (cacheEntries < config.cache.maxEntries) {
    log.warn({ configured: config.cache.maxEntries, capacity: cacheEntries }, 'cache.max_entries is more than the loaded maps hold; caching at most their capacity');
  }
  // The zone change guard: the program stops a zone's entries as an UPDATE or NOTIFY for it
  // passes to BIND; this reads which zones that happened to and stamps new entries. Catalog
  // zones are watched too: a new one's transfer to named may add or delete zones under ours.
  const catalogs = new Set(conf.zoneSetSources.flatMap((z) => (z.kind === 'catalog-zones' ? z.catalogs : [])));
  const zoneWatch = new ZoneChangeWatch(maps, () => [...registry.names(), ...[...catalogs].filter((c) => !registry.get(c))]);
  const controller = new CacheController({
    registry,
    ranking,
    maps,
    abi,
    server: { minimalResponses: conf.options.minimalResponses, ednsUdpSize: conf.options.ednsUdpSize, maxUdpSize: conf.options.maxUdpSize },
    capacity: { entries: cacheEntries, bytes: config.cache.maxBytes },
    slots: maps.capacity(abi.maps.hits),
    leaseMs: config.cache.leaseSeconds * 1000,
    recheckMs: config.bind.recheckSeconds * 1000,
    askBind: config.verify ? askBind : null,
    zoneStamp: (zone) => zoneWatch.stamp(zone),
  });

  // Entries of an earlier run are still served until their leases end: they are ours to withdraw.
  const leftovers = maps.entries().map((e) => leftoverFromMap(e, abi)).filter((l): l is LeftoverEntry => l !== undefined);
  if (leftovers.length) {
    const taken = controller.adopt(leftovers);
    log.info(taken, 'entries left by an earlier run taken over (rebuilt and verified, or deleted, by the next round)');
  }

  let zoneReloads = 0;
  let zoneReloadErrors = 0;
  let notifies = 0;
  let zoneSetChanges = 0;
  const act = (change: ZoneChange) => {
    if (change.actions.withdraw) {
      const n = controller.withdrawZone(change.zone);
      log.info({ zone: change.zone, entries: n, status: change.state.status }, 'zone withdrawn');
    }
    if (change.actions.reparse) scheduleReparse(change.zone);
  };
  // A change event can arrive while the file is still being written: the zone is withdrawn at
  // once, but read only once the file has been quiet for a moment.
  const pendingReparse = new Map<string, NodeJS.Timeout>();
  const edited = new Set<string>();
  /** Adds files a zone started to include to the watch (set once the watcher exists). */
  let watchedZoneFiles = () => {};
  let stopping = false;
  // Zones served from transfers (bind.signed_zones or bind.secondary_zones: transfer).
  const transfers = new TransferScheduler<ZoneChange>({
    run: async (zone) => {
      const outcome = registry.applyTransfer(zone, await transferZone(zone, bind.v4), `AXFR from ${bind.v4.host}#${bind.v4.port}`);
      return 'refused' in outcome ? outcome : { taken: outcome };
    },
    taken: (zone, change) => {
      log.info({ zone, serial: change.state.parsedSerial, status: change.state.status }, 'zone transferred');
      act(change);
    },
    refused: (zone, reason, retryMs) => log.warn({ zone, reason, retryMs }, 'zone transfer not taken: the zone stays with BIND'),
    retryMs: options.transferRetryMs,
  });
  const reparseNow = (zone: string) => {
    pendingReparse.delete(zone);
    const parsed = registry.reparse(zone);
    watchedZoneFiles();
    zoneReloads++;
    if (parsed.state.status === 'error') {
      zoneReloadErrors++;
      log.error({ zone, error: parsed.state.error }, 'zone file does not parse: zone withdrawn until it does');
    } else {
      log.info({ zone, serial: parsed.state.parsedSerial, status: parsed.state.status }, 'zone parsed');
      // The zone's entries are gone by now, so BIND may load the new data.
      if (edited.delete(zone) && config.bind.reloadCommand) void reloadBind(config.bind.reloadCommand, zone, log);
    }
    act(parsed);
    if (registry.get(zone)?.transfer && parsed.state.status !== 'error') void transfers.request(zone);
  };
  const fileChanged = (zone: string) => {
    edited.add(zone);
    act(registry.apply(zone, { kind: 'file-changed' }));
  };
  const scheduleReparse = (zone: string) => {
    clearTimeout(pendingReparse.get(zone));
    pendingReparse.set(zone, setTimeout(() => reparseNow(zone), options.reparseDelayMs ?? 200));
  };
  // Polls of one zone can overlap (a NOTIFY's and the timer's, or a slow one): a reply that
  // arrives after a later-started poll's was applied is older news, and is dropped.
  const pollStarted = new Map<string, number>();
  const pollApplied = new Map<string, number>();
  const pollZone = async (zone: string) => {
    const seq = (pollStarted.get(zone) ?? 0) + 1;
    pollStarted.set(zone, seq);
    let serial: number | null = null;
    try {
      serial = await soaSerial(zone, bind.v4);
    } catch (e) {
      log.debug({ zone, error: (e as Error).message }, 'serial poll failed');
    }
    if (stopping || seq < (pollApplied.get(zone) ?? 0)) return;
    pollApplied.set(zone, seq);
    act(registry.apply(zone, { kind: 'bind-serial', serial, nowMs: Date.now() }));
  };
  const pollSerials = async () => {
    for (const zone of registry.names()) {
      if (!pendingReparse.has(zone) && registry.changedOnDisk(zone)) {
        log.info({ zone }, 'zone file differs from the one parsed');
        fileChanged(zone);
      }
    }
    await Promise.all(registry.names().map(pollZone));
  };
  for (const zone of registry.names()) reparseNow(zone);
  await pollSerials();
  // A zone file edited while Santa was not running: BIND still serves the older serial, and no
  // edit event will come to have it reload, so the zone would stay withdrawn until the next
  // edit. Have BIND load the file that parsed (only when its serial is ahead of BIND's: a
  // dynamic zone's journal legitimately runs ahead of its file).
  if (config.bind.reloadCommand) {
    for (const r of registry.all()) {
      const { parsedSerial, bindSerial } = r.state;
      if (r.config.signedByNamed) {
        if (r.state.status === 'error') continue;
        // named serves such a zone under its own serial, so an edit cannot be seen by comparing
        // serials; loading a file named already has is harmless (it says it is up to date).
        log.info({ zone: r.state.zone, parsedSerial, bindSerial }, 'zone signed by named: having BIND load its file in case it was edited while Santa was stopped');
        void reloadBind(config.bind.reloadCommand, r.state.zone, log);
      } else if (parsedSerial !== null && bindSerial !== null && serialAhead(parsedSerial, bindSerial)) {
        log.info({ zone: r.state.zone, parsedSerial, bindSerial }, 'zone file is ahead of BIND (edited while Santa was stopped): reloading it');
        void reloadBind(config.bind.reloadCommand, r.state.zone, log);
      }
    }
  }

  // Query source: every query BIND logs is one observation of its question.
  const observe = (event: QueryEvent) => {
    if (!isCacheable(event) || event.signed) return;
    if (event.flags & KEY_V6 && !bind.v6) return; // cannot be verified: see bind.address_v6
    ranking.advanceTo(Date.now());
    ranking.observe(event);
  };
  const querySource = await openQuerySource(config.queries, observe, log);

  // named.conf itself is watched by the supervisor (supervise.ts), which replaces this run.
  const watcher: FSWatcher = chokidar.watch(registry.zoneFiles(), { ignoreInitial: true, awaitWriteFinish: false });
  watchedZoneFiles = () => watcher.add(registry.zoneFiles());
  watcher.on('all', (event, file) => {
    const path = resolve(file);
    const zones = registry.zonesReading(path);
    for (const zone of zones) {
      log.info({ zone, file, event }, 'zone file changed');
      fileChanged(zone);
    }
  });
  // Edits before the watch is ready show only at the next serial poll (changedOnDisk): wait
  // for it, so that an edit right after a start is seen at once (within bounds: a watch that
  // never says ready still works, and the polls remain).
  await new Promise<void>((ready) => {
    const timer = setTimeout(ready, 5_000);
    watcher.once('ready', () => {
      clearTimeout(timer);
      ready();
    });
  });

  const metrics = createMetrics(
    {
      xdp: () => xdpCounters(maps.readStats()),
      cache: () => ({ entries: controller.entries().length, bytes: controller.installedBytes, capacityEntries: config.cache.maxEntries, capacityBytes: config.cache.maxBytes, hitRatio }),
      zones: () => registry.all().map((z) => ({ zone: z.state.zone, serial: z.state.parsedSerial ?? undefined, state: z.state.status })),
      loop: () => ({
        zoneReloads,
        zoneReloadErrors,
        ...(registry.all().some((z) => z.transfer) ? { zoneTransfers: transfers.counts.taken, zoneTransfersRefused: transfers.counts.refused } : {}),
        ...(config.bind.notifyListen ? { notifies } : {}),
        ...controller.totals,
        zoneSetChanges,
        ...namedConfCounts(options.namedConfReloads),
      }),
      querySource: () => querySource?.snapshot(),
      mode: () => config.mode,
    },
    { version: options.version, loader: config.loader },
  );
  let lastTickOk = true;
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.listen.port !== 0 || config.metrics.listen.host !== '') {
    metricsServer = await startMetricsServer({
      host: config.metrics.listen.host,
      port: config.metrics.listen.port,
      render: () => metrics.render(),
      contentType: metrics.registry.contentType,
      health: () => ({ ok: lastTickOk, detail: lastTickOk ? 'control loop running' : 'last control-loop round failed' }),
    });
    log.info({ address: metricsServer.address }, 'metrics listening');
  }

  // Hit ratio over the last round: hits against the queries that could have hit.
  let hitRatio: number | undefined;
  let lastCounts = maps.readStats();
  const updateHitRatio = () => {
    const now = maps.readStats();
    const hits = now.HITS - lastCounts.HITS;
    const misses = now.PASS_MISS + now.PASS_EXPIRED - (lastCounts.PASS_MISS + lastCounts.PASS_EXPIRED);
    hitRatio = hits + misses > 0 ? hits / (hits + misses) : hitRatio;
    lastCounts = now;
  };
  // Unreadable query-source records are never fatal, but an operator must hear of them.
  let unreadableLogged = 0;
  const reportUnreadable = () => {
    const count = querySource?.snapshot().unreadable ?? 0;
    if (count > unreadableLogged) {
      log.warn({ unreadable: count, summary: querySource?.unreadable() }, 'query source records that could not be read');
      unreadableLogged = count;
    }
  };
  let ticking: Promise<void> | undefined;
  let paused = false;
  const tickNow = async () => {
    if (ticking) return ticking;
    if (paused) return;
    ticking = (async () => {
      try {
        updateHitRatio();
        reportUnreadable();
        const report = await controller.tick();
        metrics.observeLoop(report.durationMs / 1000);
        lastTickOk = true;
        log.debug({ ...report, refused: Object.fromEntries(report.refused) }, 'control loop');
      } catch (e) {
        lastTickOk = false;
        log.error({ error: (e as Error).message }, 'control-loop round failed');
      } finally {
        ticking = undefined;
      }
    })();
    return ticking;
  };
  const tickTimer = setInterval(() => void tickNow(), config.ranking.intervalSeconds * 1000);
  const pollTimer = setInterval(() => void pollSerials(), config.bind.serialPollSeconds * 1000);
  /** Withdraws a zone's entries and holds it until BIND's serial moves or the hold runs out. */
  const holdZone = (zone: string) => {
    const holdMs = config.bind.changeHoldSeconds * 1000;
    act(registry.apply(zone, { kind: 'change-seen', nowMs: Date.now(), holdMs }));
    void pollZone(zone);
    // A hold ends at a serial reading: have one when it runs out, not only at the next poll.
    const timer = setTimeout(() => {
      holdTimers.delete(timer);
      if (!stopping) void pollZone(zone);
    }, holdMs + 10);
    holdTimers.add(timer);
  };
  // A zone added under one of ours (or one of ours deleted) changes answers without any serial
  // or file of ours moving: every zone is held, and every answer asked of BIND again.
  const zoneSetChanged = (why: string) => {
    if (stopping || paused) return;
    log.warn({ why, holdSeconds: config.bind.changeHoldSeconds }, 'zones may have been added or deleted in named: every cached answer stopped, each to be asked of BIND again');
    zoneSetChanges++;
    controller.recheckAll();
    for (const zone of registry.names()) holdZone(zone);
  };
  const watchZoneChanges = () => {
    if (stopping) return;
    for (const zone of zoneWatch.poll()) {
      if (catalogs.has(zone)) {
        zoneSetChanged(`catalog zone ${zone} changed`);
        if (!registry.get(zone)) continue;
      }
      log.info({ zone, holdSeconds: config.bind.changeHoldSeconds }, 'an UPDATE, NOTIFY or transfer answer for the zone passed to BIND: its answers stopped in XDP, and wait for BIND to apply it');
      holdZone(zone);
    }
  };
  const holdTimers = new Set<NodeJS.Timeout>();
  const zoneWatchTimer = setInterval(watchZoneChanges, ZONE_WATCH_MS);
  const zoneSetWatcher = watchZoneSet(conf, zoneSetChanged, log);
  // named binds to addresses as they come and go (automatic-interface-scan); so does the program,
  // where named.conf's listen-on lists depend on them.
  let scanning = false;
  const followHost = async () => {
    if (stopping || scanning) return;
    scanning = true;
    try {
      const scanned = listenSettings(conf, hostAddresses(), abi.limits.MAX_ADDRS);
      if (sameListen(listen, scanned)) return;
      const ready = new Set<string>();
      for (const address of newlyListed(listen, scanned)) if (await namedAnswersAt(address, scanned.ports[0])) ready.add(address);
      const next = followListen(listen, scanned, (a) => ready.has(a));
      if (stopping || sameListen(next, listen)) return;
      log.info({ before: { v4: listen.v4, v6: listen.v6 }, now: { v4: next.v4, v6: next.v6 } }, 'the addresses named listens on changed: the program answers for these now');
      listen = next;
      writeSettings();
    } catch (e) {
      log.error({ error: (e as Error).message }, 'cannot follow the addresses named listens on');
    } finally {
      scanning = false;
    }
  };
  const listenTimer = setInterval(() => void followHost(), LISTEN_SCAN_MS);
  // named's NOTIFY for a zone Santa serves: ask its serial now rather than at the next poll.
  const notify = config.bind.notifyListen
    ? await listenForNotify(config.bind.notifyListen, (zone, from) => {
        if (!registry.get(zone)) return;
        notifies++;
        log.debug({ zone, from }, 'NOTIFY: asking the serial now');
        void pollZone(zone);
      })
    : undefined;
  if (notify) log.info({ listen: `${notify.address.host}:${notify.address.port}` }, 'listening for NOTIFY from named (also-notify)');
  await tickNow();

  return {
    controller,
    registry,
    maps,
    metrics: metricsServer,
    ranking,
    conf,
    namedConfFiles: conf.files.map((f) => resolve(f)),
    tickNow,
    async pause(zones?: readonly string[]) {
      paused = true;
      await ticking;
      if (!zones) return controller.withdrawAll();
      return zones.reduce((n, zone) => n + controller.withdrawZone(zone), 0);
    },
    async stop() {
      // From here on, what is still on its way (a poll, a transfer) leaves the maps alone.
      stopping = true;
      clearInterval(tickTimer);
      clearInterval(pollTimer);
      clearInterval(zoneWatchTimer);
      clearInterval(listenTimer);
      for (const t of holdTimers) clearTimeout(t);
      await notify?.close();
      if (clockTimer) clearInterval(clockTimer);
      for (const t of pendingReparse.values()) clearTimeout(t);
      transfers.stop();
      await ticking;
      toBind.v4.close();
      toBind.v6?.close();
      await watcher.close();
      await zoneSetWatcher?.close();
      await querySource?.stop();
      await metricsServer?.close();
      maps.close();
      rrl.close();
      await loader.close();
    },
  };
}

/**
 * Watches the files where named keeps zones added with rndc addzone (<view>.nzf, or .nzd with
 * LMDB) when allow-new-zones is on; says at start what catalog zones mean for the cache.
 */
function watchZoneSet(conf: NamedConf, changed: (why: string) => void, log: Logger): FSWatcher | undefined {
  for (const s of conf.zoneSetSources) {
    if (s.kind === 'catalog-zones') {
      log.warn({ view: s.view, catalogs: s.catalogs, at: `${s.at.file}:${s.at.line}` }, 'catalog-zones: a catalog transfer seen on the way to named stops every cached answer; other changes to its zones are found by rechecks (bind.recheck_seconds)');
    }
  }
  const wanted = [...new Set(conf.zoneSetSources.flatMap((s) => (s.kind === 'allow-new-zones' ? [s.directory] : [])))];
  // In a container, named's working directory is often not mounted into Santa's.
  const missing = wanted.filter((d) => !existsSync(d));
  if (missing.length) log.warn({ directories: missing }, "allow-new-zones: named's new-zone directory is not visible here (mount it into Santa's container): zones added with rndc addzone are found only by rechecks (bind.recheck_seconds)");
  const dirs = wanted.filter((d) => existsSync(d));
  if (dirs.length === 0) return undefined;
  log.info({ directories: dirs }, 'allow-new-zones: watching named\'s new-zone files (rndc addzone, delzone, modzone)');
  const isNewZoneFile = (file: string) => /\.nz[fd]$/.test(file);
  const watcher = chokidar.watch(dirs, { ignoreInitial: true, depth: 0, ignored: (file, stats) => stats?.isFile() === true && !isNewZoneFile(file) });
  watcher.on('all', (event, file) => {
    if (isNewZoneFile(file)) changed(`${file} ${event}`);
  });
  return watcher;
}

function namedConfCounts(counts: RunOptions['namedConfReloads']): { namedConfReloads?: number; namedConfReloadErrors?: number; namedConfOk?: boolean } {
  if (!counts) return {};
  const { ok, errors, latestOk } = counts();
  return { namedConfReloads: ok, namedConfReloadErrors: errors, namedConfOk: latestOk };
}

function xdpCounters(stats: Record<string, number>): XdpCounters {
  const pass: Partial<Record<PassReason, number>> = {};
  for (const [name, value] of Object.entries(stats)) {
    if (name.startsWith('PASS_')) pass[name.slice(5).toLowerCase() as PassReason] = value;
  }
  return {
    packets: stats.PACKETS,
    dnsQueries: stats.DNS_QUERIES,
    hits: stats.HITS,
    dryRunHits: stats.DRY_RUN_HITS,
    txBytes: stats.TX_BYTES,
    pass,
    rrlDropped: stats.RRL_DROPPED,
    rrlSlipped: stats.RRL_SLIPPED,
    rrlWouldLimit: stats.RRL_WOULD_LIMIT,
    zoneChanges: stats.ZONE_CHANGES,
    loopbackZoneChanges: stats.LOOPBACK_ZONE_CHANGES,
  };
}

/** Whether named answers (anything) over TCP at `address`: it listens there. */
async function namedAnswersAt(address: string, port: number): Promise<boolean> {
  try {
    const id = (Math.random() * 0x10000) >>> 0;
    await exchange(encodeQuery({ name: '.', type: 'SOA' }, { rd: false, edns: false, do: false }, id), { host: address, port }, 'tcp', 1000);
    return true;
  } catch {
    return false;
  }
}

/** a > b in SOA serial arithmetic (RFC 1982, 32-bit). */
export function serialAhead(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/** Runs the configured reload command for one zone (no shell: arguments split on spaces). */
function reloadBind(command: string, zone: string, log: Logger): Promise<void> {
  const [file, ...args] = command.replace(/\{zone\}/g, zone).split(/\s+/);
  return new Promise((done) => {
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) log.error({ zone, command, error: error.message, stderr: stderr.trim() }, 'BIND reload command failed');
      else log.info({ zone, output: stdout.trim() }, 'BIND reloaded the zone');
      done();
    });
  });
}

/**
 * Every setting of `santa run`, in one table: its YAML key, environment variable, flag,
 * default, parser and help text. The loader, the CLI's flag list, --help and the example file
 * are all derived from it, so they cannot disagree.
 */
import {
  boolean,
  byteSize,
  commandLine,
  filePath,
  integer,
  interfaceList,
  listenAddress,
  oneOf,
  seconds,
  type InterfaceSetting,
  type ListenAddress,
  type ValueParser,
  type XdpMode,
} from './values';

export const MODES = ['on', 'dry-run', 'off'] as const;
export type Mode = (typeof MODES)[number];
export const LOADERS = ['native', 'bpfman'] as const;
export type LoaderKind = (typeof LOADERS)[number];
export const QUERY_SOURCES = ['querylog', 'dnstap-socket', 'dnstap-file', 'none'] as const;
export type QuerySource = (typeof QUERY_SOURCES)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const SIGNED_ZONE_SOURCES = ['unsigned-file', 'transfer'] as const;
export type SignedZoneSource = (typeof SIGNED_ZONE_SOURCES)[number];
export const SECONDARY_ZONE_SOURCES = ['file', 'transfer'] as const;
export type SecondaryZoneSource = (typeof SECONDARY_ZONE_SOURCES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export type { InterfaceSetting, ListenAddress, XdpMode };

export interface SantaConfig {
  namedConf: string;
  interfaces: InterfaceSetting[];
  mode: Mode;
  loader: LoaderKind;
  /** The XDP object to load; undefined means the one built with Santa (resolved by the CLI). */
  bpfObject?: string;
  /** bpffs directory where the native loader pins the program, link and maps. */
  pinDir: string;
  /** Watch `lo` of each interface's namespace for UPDATE and NOTIFY messages (native loader). */
  loopbackGuard: boolean;
  bpfman: { socket: string; priority: number; timeoutSeconds: number };
  queries: { source: QuerySource; path?: string };
  cache: { maxEntries: number; maxBytes: number; leaseSeconds: number };
  ranking: { intervalSeconds: number };
  verify: boolean;
  /** Where BIND answers Santa's own TCP questions (verify, serial polls), and how to reload it. */
  bind: { address: ListenAddress; addressV6?: ListenAddress; reloadCommand?: string; signedZones: SignedZoneSource; secondaryZones: SecondaryZoneSource; serialPollSeconds: number; changeHoldSeconds: number; recheckSeconds: number; notifyListen?: ListenAddress };
  metrics: { listen: ListenAddress };
  log: { level: LogLevel };
}

export interface SettingSpec<T = unknown> {
  /** Dotted YAML key, e.g. cache.max_entries. */
  key: string;
  help: string;
  parser: ValueParser<T>;
  /** undefined: the setting is optional with no default (or required, see `required`). */
  default?: T;
  /** The default as a person would write it, where that differs from its plain value. */
  defaultText?: string;
  /** Shown in help and the example file where the default is not self-explanatory. */
  example?: string;
  required?: boolean;
  assign(config: SantaConfig, value: T): void;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<unknown> {
  return spec as SettingSpec<unknown>;
}

export const SETTINGS: ReadonlyArray<SettingSpec> = [
  setting({
    key: 'named_conf',
    help: "BIND's named.conf; zones and their files are read from it",
    parser: filePath(),
    default: '/etc/bind/named.conf',
    assign: (c, v) => (c.namedConf = v),
  }),
  setting({
    key: 'interfaces',
    help: 'interfaces to attach the XDP program to: NAME, NAME:native, NAME:generic, or {name, xdp_mode, netns}',
    parser: interfaceList(),
    example: 'eth0',
    required: true,
    assign: (c, v) => (c.interfaces = v),
  }),
  setting({
    key: 'mode',
    help: 'on: answer cached questions; dry-run: count would-be answers but pass everything to BIND; off: pass everything',
    parser: oneOf(MODES),
    default: 'on' as Mode,
    assign: (c, v) => (c.mode = v),
  }),
  setting({
    key: 'loader',
    help: 'how the XDP program is loaded: native (libbpf, pins under pin_dir) or bpfman (through the bpfman daemon)',
    parser: oneOf(LOADERS),
    default: 'native' as LoaderKind,
    assign: (c, v) => (c.loader = v),
  }),
  setting({
    key: 'bpf_object',
    help: 'the XDP object file to load; default: the santa.bpf.o built with Santa',
    parser: filePath(),
    example: '/usr/lib/santa/santa.bpf.o',
    assign: (c, v) => (c.bpfObject = v),
  }),
  setting({
    key: 'pin_dir',
    help: 'bpffs directory where the native loader pins the program, its link and maps (found again after a restart)',
    parser: filePath(),
    default: '/sys/fs/bpf/santa',
    assign: (c, v) => (c.pinDir = v),
  }),
  setting({
    key: 'loopback_guard',
    help: "also watch the loopback device of each interface's network namespace (a tc program on lo) for UPDATE and NOTIFY messages to BIND, so that a change sent to BIND from the same host (nsupdate -l, an ACME client using 127.0.0.1) stops the zone's cached answers as one through the interface does; native loader only",
    parser: boolean(),
    default: true,
    assign: (c, v) => (c.loopbackGuard = v),
  }),
  setting({
    key: 'bpfman.socket',
    help: "bpfman's gRPC Unix socket",
    parser: filePath(),
    default: '/run/bpfman-sock/bpfman.sock',
    assign: (c, v) => (c.bpfman.socket = v),
  }),
  setting({
    key: 'bpfman.priority',
    help: "position in bpfman's XDP dispatcher chain (1 runs first); Santa passes what it does not answer on to later programs",
    parser: integer(1, 1000),
    default: 50,
    assign: (c, v) => (c.bpfman.priority = v),
  }),
  setting({
    key: 'bpfman.timeout_seconds',
    help: 'deadline for each bpfman call (bpfman serialises calls, and Load verifies the program)',
    parser: seconds(0.1, 600),
    default: 30,
    assign: (c, v) => (c.bpfman.timeoutSeconds = v),
  }),
  setting({
    key: 'queries.source',
    help: "where BIND's queries are read from to rank questions: querylog (BIND's query log file), dnstap-socket, dnstap-file, or none (rank by XDP hits only)",
    parser: oneOf(QUERY_SOURCES),
    default: 'querylog' as QuerySource,
    assign: (c, v) => (c.queries.source = v),
  }),
  setting({
    key: 'queries.path',
    help: 'the query log file, dnstap Unix socket (Santa listens; BIND connects) or dnstap file',
    parser: filePath(),
    example: '/var/log/named/query.log',
    assign: (c, v) => (c.queries.path = v),
  }),
  setting({
    key: 'cache.max_entries',
    help: 'most questions cached at once (must not exceed the capacity the XDP maps were built with)',
    parser: integer(1, 16_000_000),
    default: 16_384,
    assign: (c, v) => (c.cache.maxEntries = v),
  }),
  setting({
    key: 'cache.max_bytes',
    help: 'most bytes of prebuilt responses cached at once',
    parser: byteSize(4096, 2 ** 40),
    default: 64 * 2 ** 20,
    defaultText: '64MiB',
    assign: (c, v) => (c.cache.maxBytes = v),
  }),
  setting({
    key: 'cache.lease_seconds',
    help: 'how long an installed entry stays valid without renewal; if Santa stops, BIND answers everything after this',
    parser: seconds(1, 86_400),
    default: 30,
    assign: (c, v) => (c.cache.leaseSeconds = v),
  }),
  setting({
    key: 'ranking.interval_seconds',
    help: 'how often the hot set is re-ranked, rebuilt and leases renewed',
    parser: seconds(0.1, 3_600),
    default: 5,
    assign: (c, v) => (c.ranking.intervalSeconds = v),
  }),
  setting({
    key: 'verify',
    help: 'install a new or changed entry only after BIND returns the same response for it',
    parser: boolean(),
    default: true,
    assign: (c, v) => (c.verify = v),
  }),
  setting({
    key: 'bind.address',
    help: "where BIND answers Santa's own questions over TCP (verifying answers, polling zone serials); TCP never reaches the XDP cache",
    parser: listenAddress(),
    default: { host: '127.0.0.1', port: 53 },
    defaultText: '127.0.0.1:53',
    assign: (c, v) => (c.bind.address = v),
  }),
  setting({
    key: 'bind.address_v6',
    help: 'an IPv6 address of BIND, to verify answers for IPv6 clients (BIND orders glue by the client\'s family); unset: IPv6 questions are not cached',
    parser: listenAddress(),
    example: '[::1]:53',
    assign: (c, v) => (c.bind.addressV6 = v),
  }),
  setting({
    key: 'bind.reload_command',
    help: 'run after a zone file changes and its entries are withdrawn, with {zone} replaced by the zone name (e.g. rndc reload {zone}); unset: BIND is reloaded by someone else',
    parser: commandLine(),
    example: 'rndc reload {zone}',
    assign: (c, v) => (c.bind.reloadCommand = v),
  }),
  setting({
    key: 'bind.signed_zones',
    help:
      "how zones named signs itself (inline-signing) are read: 'unsigned-file' builds from the zone file only the answers signing cannot change (DO=0, no SOA); 'transfer' takes the signed zone from BIND (AXFR over TCP from bind.address: allow-transfer must admit Santa) and caches its answers, DO=1 and negative ones included, withdrawing the zone whenever named re-signs",
    parser: oneOf(SIGNED_ZONE_SOURCES),
    default: 'unsigned-file' as SignedZoneSource,
    assign: (c, v) => (c.bind.signedZones = v),
  }),
  setting({
    key: 'bind.secondary_zones',
    help:
      "how secondary zones are read: 'file' reads the copy named writes (only with masterfile-format text; raw, the default, is left to BIND); 'transfer' takes each from BIND by AXFR over TCP from bind.address (allow-transfer must admit Santa), whatever its format, and again at every new serial",
    parser: oneOf(SECONDARY_ZONE_SOURCES),
    default: 'file' as SecondaryZoneSource,
    assign: (c, v) => (c.bind.secondaryZones = v),
  }),
  setting({
    key: 'bind.serial_poll_seconds',
    help: "how often each zone's serial is asked of BIND (and its file checked for changes): a dynamic update or a re-sign is noticed within this, or at once with bind.notify_listen",
    parser: seconds(0.1, 3_600),
    default: 1,
    assign: (c, v) => (c.bind.serialPollSeconds = v),
  }),
  setting({
    key: 'bind.change_hold_seconds',
    help: "when the XDP program sees an UPDATE, a NOTIFY or a transfer's answer for a zone pass to BIND, the zone's cached answers stop at once; it is cached again only once BIND's serial has moved or this long has passed (an update BIND refused, a NOTIFY for a serial it has): longer than BIND takes to apply an update or finish a transfer",
    parser: seconds(0.1, 3_600),
    default: 5,
    assign: (c, v) => (c.bind.changeHoldSeconds = v),
  }),
  setting({
    key: 'bind.recheck_seconds',
    help: "how long a verification stands: every cached answer is asked of BIND again within this (from 3/4 of it on) and withdrawn if BIND now answers differently, which catches what no file, serial or message shows (a zone added or deleted with rndc addzone/delzone or by a catalog zone, named restarted or reconfigured with other options); costs one TCP query to BIND per cached answer per interval",
    parser: seconds(1, 86_400),
    default: 60,
    assign: (c, v) => (c.bind.recheckSeconds = v),
  }),
  setting({
    key: 'bind.notify_listen',
    help: "where Santa listens for DNS NOTIFY (UDP): with also-notify for this address in named.conf, named tells Santa of every new serial and the zone's serial is asked at once; unset: only the polls",
    parser: listenAddress(),
    example: '127.0.0.1:5301',
    assign: (c, v) => (c.bind.notifyListen = v),
  }),
  setting({
    key: 'metrics.listen',
    help: 'address of the HTTP server for /metrics and /healthz',
    parser: listenAddress(),
    default: { host: '127.0.0.1', port: 9553 },
    defaultText: '127.0.0.1:9553',
    assign: (c, v) => (c.metrics.listen = v),
  }),
  setting({
    key: 'log.level',
    help: 'least severe log level written',
    parser: oneOf(LOG_LEVELS),
    default: 'info' as LogLevel,
    assign: (c, v) => (c.log.level = v),
  }),
];

export const SETTINGS_BY_KEY: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((s) => [s.key, s]));

/** Keys that group other keys (bpfman, cache, ...). */
export const SECTIONS: ReadonlySet<string> = new Set(
  SETTINGS.flatMap((s) => {
    const parts = s.key.split('.');
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

/** cache.max_entries -> SANTA_CACHE_MAX_ENTRIES */
export function envName(key: string): string {
  return 'SANTA_' + key.replace(/[.]/g, '_').toUpperCase();
}

/** cache.max_entries -> --cache-max-entries */
export function flagName(key: string): string {
  return '--' + key.replace(/[._]/g, '-');
}

/** Environment variables read by the CLI itself rather than mapped to a setting. */
export const ENV_NOT_SETTINGS: ReadonlySet<string> = new Set(['SANTA_CONFIG', 'SANTA_NATIVE']);

/** A fresh config object with every optional section present; the loader fills it in. */
export function emptyConfig(): SantaConfig {
  return {
    namedConf: '',
    interfaces: [],
    mode: 'on',
    loader: 'native',
    pinDir: '',
    loopbackGuard: true,
    bpfman: { socket: '', priority: 0, timeoutSeconds: 0 },
    queries: { source: 'none' },
    cache: { maxEntries: 0, maxBytes: 0, leaseSeconds: 0 },
    ranking: { intervalSeconds: 0 },
    verify: true,
    bind: { address: { host: '', port: 0 }, signedZones: 'unsigned-file', secondaryZones: 'file', serialPollSeconds: 1, changeHoldSeconds: 5, recheckSeconds: 60 },
    metrics: { listen: { host: '', port: 0 } },
    log: { level: 'info' },
  };
}

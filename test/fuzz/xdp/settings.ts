/**
 * The settings the fuzzer cycles through: defaults, explicit ports and addresses, each
 * max-udp-size regime, dry-run and off; DNS cookies on (with the real wall clock, with a clock
 * about to wrap 32-bit seconds, with require-server-cookie); and response rate limiting as
 * named.conf's rate-limit {} block configures it (nothing limited in practice, one per second
 * with slip, all-per-second with exempt clients, log-only). Addresses the frames use come from
 * here, so most frames are to a served address and port, and some deliberately are not.
 */
import { wallClockOffsetNs } from '../../../sidecar/cookies/clock';
import { aclsOf, addressMatchList, type AddressPrefix } from '../../../sidecar/named-conf/address-match';
import { parseStatements } from '../../../sidecar/named-conf/syntax';
import { rrlConfigFromStatement, type RrlConfig } from '../../../sidecar/rrl/config';
import type { ModelSettings } from '../model';

export const CLIENT_V4 = '10.53.0.1';
export const CLIENT_V6 = 'fd53::1';
export const SERVER_V4 = '10.53.0.2';
export const SERVER_V6 = 'fd53::2';

export const COOKIE_SECRET = Buffer.from('5a17a0c0ffee2026b1dd0123456789ab', 'hex');

export interface SettingsVariant {
  name: string;
  settings: ModelSettings;
  /** The body of named.conf's rate-limit {} block; absent: no rate limiting. */
  rateLimit?: string;
  weight: number;
}

const base: ModelSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };

/** The program's wall clock as the sidecar sets it: CLOCK_REALTIME - CLOCK_MONOTONIC. */
const realClock = { secret: COOKIE_SECRET, clockOffsetNs: wallClockOffsetNs() };
/** A clock half an hour before 32-bit seconds wrap: cookie ages and the freshness window
 * straddle the wrap (RFC 1982 serial arithmetic). */
const wrappingClock = { secret: COOKIE_SECRET, clockOffsetNs: (2n ** 32n - 1800n) * 1_000_000_000n - process.hrtime.bigint() };

export const SETTINGS_VARIANTS: SettingsVariant[] = [
  { name: 'defaults', weight: 5, settings: base },
  {
    name: 'ports-and-addresses',
    weight: 3,
    settings: { ...base, ports: [5353, 53], v4Addrs: ['192.0.2.1', SERVER_V4], v6Addrs: ['2001:db8::53', SERVER_V6] },
  },
  { name: 'max-udp-512', weight: 1, settings: { ...base, maxUdpSize: 512 } },
  { name: 'max-udp-4096', weight: 2, settings: { ...base, maxUdpSize: 4096 } },
  { name: 'max-udp-700', weight: 1, settings: { ...base, maxUdpSize: 700 } },
  { name: 'dry-run', weight: 1, settings: { ...base, mode: 'dry-run' } },
  { name: 'off', weight: 1, settings: { ...base, mode: 'off' } },
  { name: 'cookies', weight: 4, settings: { ...base, cookie: realClock } },
  { name: 'cookies-wrapping-clock', weight: 1, settings: { ...base, maxUdpSize: 4096, cookie: wrappingClock } },
  { name: 'cookies-require-server', weight: 1, settings: { ...base, cookie: { ...realClock, requireServerCookie: true } } },
  { name: 'cookies-dry-run', weight: 1, settings: { ...base, mode: 'dry-run', cookie: realClock } },
  // BIND's highest rates, per netblock and answer: more than the fuzzer sends to one bucket in a
  // second, so verdicts are those without RRL (the model still tracks every bucket).
  { name: 'rrl-unreached', weight: 1, settings: base, rateLimit: 'responses-per-second 1000; nxdomains-per-second 1000; nodata-per-second 1000; errors-per-second 1000;' },
  {
    name: 'rrl-1-per-second',
    weight: 3,
    settings: { ...base, cookie: realClock },
    rateLimit: 'responses-per-second 1; nxdomains-per-second 1; nodata-per-second 1; errors-per-second 1; window 2; slip 2;',
  },
  {
    name: 'rrl-all-per-second',
    weight: 1,
    settings: base,
    rateLimit: 'responses-per-second 4; all-per-second 2; slip 1; window 1; ipv4-prefix-length 32; ipv6-prefix-length 64; exempt-clients { !10.53.0.1; 10.53.0.0/16; fd53::/16; };',
  },
  { name: 'rrl-log-only', weight: 1, settings: { ...base, cookie: realClock }, rateLimit: 'responses-per-second 1; nxdomains-per-second 2; slip 3; log-only yes;' },
  // nocookie-udp-size: replies over 200 bytes only to valid server cookies.
  { name: 'nocookie-udp-size', weight: 2, settings: { ...base, maxUdpSize: 4096, cookie: realClock, nocookieUdpSize: 200 } },
  // named.conf blackhole lists, read as santa run reads them: one that names the usual client,
  // one that spares it and takes part of the other addresses the generator draws.
  { name: 'blackhole-client', weight: 1, settings: { ...base, blackhole: blackhole('acl near { 10.53.0.0/24; fd53::/64; };', 'near; 192.0.2.0/24;') } },
  {
    name: 'blackhole-others',
    weight: 2,
    settings: { ...base, cookie: realClock, blackhole: blackhole('', '!10.53.0.1; !fd53::1; 0.0.0.0/1; { 192.0.0.0/4; 2000::/3; };') },
  },
];

function blackhole(acls: string, list: string): AddressPrefix[] {
  const statements = parseStatements(`${acls}\nblackhole { ${list} };`, 'fuzz-settings.conf');
  const s = statements.find((x) => x.name === 'blackhole')!;
  return addressMatchList(s, aclsOf(statements), (problem) => new Error(`fuzz blackhole: ${problem}`));
}

/** The limiter configuration a variant's rate-limit block gives, read as santa run reads it. */
export function rateLimitConfig(rateLimit: string | undefined): RrlConfig | null {
  if (rateLimit === undefined) return null;
  const [statement] = parseStatements(`rate-limit { ${rateLimit} };`, 'fuzz-settings.conf');
  return rrlConfigFromStatement(statement);
}

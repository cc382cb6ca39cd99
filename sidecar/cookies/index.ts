/** DNS cookies answered in XDP with BIND's own secret (RFC 7873, RFC 9018). */
export { siphash24 } from './siphash';
export {
  addressBytes,
  checkServerCookie,
  cookieOption,
  EDNS_COOKIE,
  serverCookie,
  ServerCookieVerdict,
  CLIENT_COOKIE_LENGTH,
  SERVER_COOKIE_LENGTH,
  COOKIE_MAX_AGE_S,
  COOKIE_MAX_AHEAD_S,
} from './server-cookie';
export { chooseCookieSecret, parseCookieSecret, CookieOptions, CookieSecretChoice, CookieSecretError } from './secret';
export { wallClockOffsetNs, CLOCK_REFRESH_MS } from './clock';
export { cookieSettingsSource, CookieSettingsSource } from './settings';

/**
 * The cookie part of the program's settings, from named.conf options: what `santa run` writes
 * at start and again every CLOCK_REFRESH_MS (the wall-clock offset drifts with NTP).
 */
import type { CookieSettings } from '../bpf/codec';
import { wallClockOffsetNs } from './clock';
import { chooseCookieSecret, CookieOptions, CookieSecretError } from './secret';

export interface CookieSettingsSource {
  /** Fresh settings (current clock offset); absent when cookies stay with BIND. */
  settings?: () => CookieSettings;
  /** Why cookies stay with BIND. */
  reason?: string;
}

export function cookieSettingsSource(options: CookieOptions): CookieSettingsSource {
  let choice;
  try {
    choice = chooseCookieSecret(options);
  } catch (e) {
    // BIND refuses such a secret too; Santa keeps answering everything else.
    if (e instanceof CookieSecretError) return { reason: e.message };
    throw e;
  }
  if (!choice.secret) return { reason: choice.reason };
  const { secret, requireServerCookie } = choice;
  return { settings: () => ({ secret, requireServerCookie, clockOffsetNs: wallClockOffsetNs() }) };
}

/**
 * Saved failing cases: one JSON file per case under test/fuzz/regressions/, holding everything
 * needed to run it again without the generator (settings and frame bytes; the installed
 * entries are the fixed universe).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import type { ModelSettings } from '../model';
import { rateLimitConfig } from './settings';
import type { RrlConfig } from '../../../sidecar/rrl/config';

export const REGRESSION_DIR = resolve(__dirname, '../regressions');

export interface RegressionCase {
  seed: number;
  index: number;
  kind: string;
  settingsName: string;
  /** Without the cookie settings, which JSON cannot hold as they are (see `cookie`). */
  settings: ModelSettings;
  /** Cookies on: the secret, and the wall-clock second the case ran at (a replay sets the
   * program's clock back to it, so the frame's cookie timestamps mean what they meant). */
  cookie?: { secretHex: string; second: number; requireServerCookie?: boolean };
  /** The rate-limit {} block that was configured; a replay starts with no buckets. */
  rateLimit?: string;
  frameHex: string;
  /** What the model decided when the case was saved. */
  model: string;
  problems: string[];
}

export function saveRegression(c: RegressionCase, dir = REGRESSION_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `xdp-seed${c.seed}-case${c.index}.json`);
  writeFileSync(file, JSON.stringify(c, null, 2) + '\n');
  return file;
}

export function loadRegressions(dir = REGRESSION_DIR): Array<{ file: string; c: RegressionCase }> {
  return readdirSync(dir)
    .filter((f) => f.startsWith('xdp-') && f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, c: JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionCase }));
}

/** A case's settings in JSON-safe form; `second`: the program's wall-clock second now. */
export function savedSettings(settings: ModelSettings, second: number): Pick<RegressionCase, 'settings' | 'cookie'> {
  const { cookie, ...rest } = settings;
  if (!cookie) return { settings: rest };
  return { settings: rest, cookie: { secretHex: Buffer.from(cookie.secret).toString('hex'), second, ...(cookie.requireServerCookie ? { requireServerCookie: true } : {}) } };
}

/** The settings and limiter configuration to replay a saved case with. */
export function replaySettings(c: RegressionCase): { settings: ModelSettings; rrl: RrlConfig | null } {
  const rrl = rateLimitConfig(c.rateLimit);
  if (!c.cookie) return { settings: c.settings, rrl };
  // Half a second into the saved second: the replay runs well within it.
  const clockOffsetNs = BigInt(c.cookie.second) * 1_000_000_000n + 500_000_000n - process.hrtime.bigint();
  const cookie = { secret: Buffer.from(c.cookie.secretHex, 'hex'), clockOffsetNs, ...(c.cookie.requireServerCookie ? { requireServerCookie: true } : {}) };
  return { settings: { ...c.settings, cookie }, rrl };
}

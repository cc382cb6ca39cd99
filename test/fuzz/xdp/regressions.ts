/**
 * Saved failing cases: one JSON file per case under test/fuzz/regressions/, holding everything
 * needed to run it again without the generator (settings and frame bytes; the installed
 * entries are the fixed universe).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import type { ModelSettings } from '../model';

export const REGRESSION_DIR = resolve(__dirname, '../regressions');

export interface RegressionCase {
  seed: number;
  index: number;
  kind: string;
  settingsName: string;
  settings: ModelSettings;
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

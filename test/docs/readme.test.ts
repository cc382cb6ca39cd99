/**
 * The README documents every setting and every metric: both lists come from the code (the
 * configuration schema and the metrics registry), so a new setting or metric without
 * documentation fails here.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SETTINGS } from '../../sidecar/config';
import { createMetrics } from '../../sidecar/metrics';

const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');

describe('README.md', () => {
  it('documents every setting of santa.yaml', () => {
    const missing = SETTINGS.map((s) => s.key).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('documents every metric Santa exports', async () => {
    const metrics = createMetrics({}, { version: 'test', loader: 'native', processMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    const missing = names.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('gives exactly two set-up commands, the demo and the test suite', () => {
    const start = readme.indexOf('## Set-up');
    const setup = readme.slice(start, readme.indexOf('\n#', start + 1)); // up to the next heading
    const commands = setup.split('\n').filter((line) => line.startsWith('    ')).map((line) => line.trim());
    expect(commands).toEqual(['bash deploy/demo.sh', 'npm test']);
  });
});

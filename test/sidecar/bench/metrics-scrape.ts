/**
 * Cost of one /metrics render (what each Prometheus scrape costs Santa's event loop) as the
 * number of zones grows; zones are the only label with open-ended values.
 *   npx tsx test/sidecar/bench/metrics-scrape.ts
 */
import { createMetrics, type ZoneSnapshot } from '../../../sidecar/metrics';

async function main(): Promise<void> {
  for (const zoneCount of [10, 1_000, 10_000]) {
    const zones: ZoneSnapshot[] = Array.from({ length: zoneCount }, (_, i) => ({
      zone: `zone${i}.example.`,
      serial: 2026112700 + i,
      state: i % 10 === 0 ? 'withdrawn' : 'offloaded',
    }));
    const metrics = createMetrics(
      {
        xdp: async () => ({ packets: 1e9, dnsQueries: 9e8, hits: 8e8, dryRunHits: 0, txBytes: 8e10, pass: { miss: 1e8 } }),
        cache: () => ({ entries: 100_000, bytes: 50e6, capacityEntries: 100_000, capacityBytes: 64 * 2 ** 20, hitRatio: 0.9 }),
        zones: () => zones,
        mode: () => 'on',
      },
      { version: 'bench', loader: 'native' },
    );
    await metrics.render(); // warm-up
    const rounds = zoneCount >= 10_000 ? 20 : 200;
    const times: number[] = [];
    let bytes = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      bytes = (await metrics.render()).length;
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
    console.log(`zones=${zoneCount}\trounds=${rounds}\tp50=${p(0.5)} ms\tp95=${p(0.95)} ms\tbody=${(bytes / 1024).toFixed(0)} KiB`);
  }
}

void main();

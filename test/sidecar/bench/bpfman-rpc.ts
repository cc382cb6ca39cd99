/**
 * Round-trip time of bpfman calls Santa makes at start-up and on `santa status` (List, Get)
 * against a real bpfman-rpc 0.6.0 started by test/support/bpfman.ts. Needs root.
 *   npx tsx test/sidecar/bench/bpfman-rpc.ts
 */
import { startBpfman } from '../../support/bpfman';

async function time(label: string, rounds: number, call: () => Promise<unknown>): Promise<void> {
  await call().catch(() => undefined); // warm-up
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await call().catch(() => undefined);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  console.log(`${label}\trounds=${rounds}\tp50=${p(0.5)} ms\tp95=${p(0.95)} ms\tmax=${times[times.length - 1].toFixed(2)} ms`);
}

async function main(): Promise<void> {
  const daemon = await startBpfman();
  try {
    await time('List{santa metadata}', 200, () => daemon.client.list({ metadata: { bpfman_application: 'santa' } }));
    await time('Get{unknown id} (error path)', 200, () => daemon.client.get(4_000_000_000));
  } finally {
    await daemon.stop();
  }
}

void main();

/**
 * Zone benchmark: parse speed and peak memory on a generated zone of 1 million records, and
 * response-build speed on names from it. Prints numbers; asserts nothing.
 *
 *   npx tsx --expose-gc test/bench/zone-bench.ts [records=1000000] [responses=300000]
 *
 * (--expose-gc lets it collect the generator's garbage before each timed phase.)
 * The zone is written to a temporary file by streaming (so generating it does not inflate the
 * peak), then parsed in this process; "peak RSS" is the process's maximum resident set size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseZoneFile } from '../../sidecar/zone/parse';
import { buildResponse, QueryBits } from '../../sidecar/response/build';

const records = Number(process.argv[2] ?? 1_000_000);
const responses = Number(process.argv[3] ?? 300_000);
const ORIGIN = 'bench.test.';

/** A deterministic mix resembling a hosting zone: mostly A/AAAA, some CNAME, MX, TXT, delegations. */
function writeZone(file: string, count: number): Promise<void> {
  const out = fs.createWriteStream(file);
  let chunk = '$TTL 3600\n@ SOA ns1 hostmaster 2026112701 7200 900 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n';
  let written = 6;
  let i = 0;
  const flush = () =>
    new Promise<void>((resolve) => {
      if (out.write(chunk)) resolve();
      else out.once('drain', resolve);
      chunk = '';
    });
  return (async () => {
    while (written < count) {
      const host = `h${i}`;
      const kind = i % 20;
      if (kind < 11) {
        chunk += `${host} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`;
        written++;
      } else if (kind < 14) {
        chunk += `${host} 300 IN AAAA 2001:db8:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}\n`;
        written++;
      } else if (kind < 16) {
        chunk += `${host} CNAME h${i - 3}\n`;
        written++;
      } else if (kind < 17) {
        chunk += `${host} MX 10 h${i - 16}\n\tMX 20 mail.example.net.\n`;
        written += 2;
      } else if (kind < 19) {
        chunk += `${host} TXT "v=spf1 ip4:10.0.${i & 255}.0/24 -all" "id=${i}"\n`;
        written++;
      } else {
        chunk += `${host} NS ns1.${host}\nns1.${host} A 10.255.${(i >> 8) & 255}.${i & 255}\n`;
        written += 2;
      }
      i++;
      if (chunk.length > 1 << 20) await flush();
    }
    await flush();
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  })();
}

function rate(count: number, seconds: number): string {
  return Math.round(count / seconds).toLocaleString('en-US');
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'santa-zone-bench-'));
  try {
    const file = path.join(dir, 'bench.zone');
    await writeZone(file, records);
    const size = fs.statSync(file).size;
    // With --expose-gc, the generator's garbage is collected before timing (not charged to the parser).
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rssBefore = process.memoryUsage().rss;

    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const zone = parseZoneFile(file, ORIGIN);
    const cpu = process.cpuUsage(cpu0);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const peakRss = process.resourceUsage().maxRSS * 1024;
    const heap = process.memoryUsage().heapUsed;

    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(`load average at start: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs (rates per CPU-second are the fairer figure on a busy host)`);
    console.log(`zone: ${zone.recordCount} records, ${zone.nodes.size} names, ${(size / 2 ** 20).toFixed(1)} MiB of text`);
    console.log(`parse: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU -> ${rate(zone.recordCount, seconds)} records/s wall, ${rate(zone.recordCount, cpuSeconds)} records per CPU-second`);
    console.log(`memory: RSS before parse ${mib(rssBefore)}, peak RSS ${mib(peakRss)}, heap after parse ${mib(heap)}`);

    // Response building: a mix of existing names (several types) and names that do not exist.
    const names = [...zone.names()];
    const questions: { name: string; type: string }[] = [];
    const types = ['A', 'AAAA', 'MX', 'TXT'];
    for (let i = 0; i < 4096; i++) {
      const pick = names[(i * 7919) % names.length];
      questions.push(i % 8 === 7 ? { name: `missing${i}.${ORIGIN}`, type: 'A' } : { name: pick, type: types[i % types.length] });
    }
    const variants: QueryBits[] = [
      { rd: false, edns: true, do: false, udpSize: 1232 },
      { rd: true, edns: false, do: false },
    ];
    const server = { minimalResponses: 'no-auth-recursive' as const, ednsUdpSize: 1232 };
    gc?.();
    const timed = (count: number, label: string) => {
      let built = 0;
      let bytes = 0;
      const t0 = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const r = buildResponse(zone, questions[i % questions.length], variants[i & 1], server);
        if (r.cacheable) {
          built++;
          bytes += r.wire.length;
        }
      }
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      console.log(`${label}: ${count.toLocaleString('en-US')} responses in ${wall.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU -> ${rate(count, wall)} responses/s wall, ${rate(count, cpuSeconds)} per CPU-second (${built} cacheable, mean ${Math.round(bytes / Math.max(built, 1))} bytes)`);
    };
    // Each question once first: every build there is a first one (its names' RRsets are
    // assembled, the code is still being optimised). Then the questions come round again, as
    // the hot set does in a running sidecar.
    timed(questions.length, 'build, first pass');
    timed(responses, 'build');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The Markdown report of a paper-benchmark run: machine, latency, throughput, cost, and the
 * issue's targets as measured ratios. A pure function of the results.
 */
import type { Results, ThroughputPoint } from './main';
import { idealBound, Spread } from './stats';

function qps(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(1)}k`;
}
function range(s: Spread, f: (v: number) => string): string {
  return s.runs.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}
const us = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)}`;
const ratio = (v: number) => `${v.toFixed(2)}x`;

interface Target {
  what: string;
  measured: number;
  goal: string;
  met: boolean;
}

export function targets(r: Results): Target[] {
  const t: Target[] = [];
  const find = (pred: (p: ThroughputPoint) => boolean) => r.throughput.find(pred);
  const bindOn = find((p) => p.arm === 'bind' && p.querylog);
  const bindOff = find((p) => p.arm === 'bind' && !p.querylog);
  const full = find((p) => p.arm === 'santa' && p.hitRatio === 1);
  const minimal = find((p) => p.arm === 'minimal');
  if (full && bindOn) {
    const v = full.answeredQps.median / bindOn.answeredQps.median;
    t.push({ what: '100% hits vs BIND, query log on (qps)', measured: v, goal: '>= 10x', met: v >= 10 });
  }
  if (full && bindOff) {
    const v = full.answeredQps.median / bindOff.answeredQps.median;
    t.push({ what: '100% hits vs BIND, query log off (qps)', measured: v, goal: '>= 6x', met: v >= 6 });
  }
  if (full && minimal) {
    const v = full.answeredQps.median / minimal.answeredQps.median;
    t.push({ what: 'hit path vs minimal responder (qps)', measured: v, goal: '>= 0.90x', met: v >= 0.9 });
  }
  const bindLat = r.latency.find((l) => l.label.startsWith('BIND alone'));
  const santaLat = r.latency.find((l) => l.label.startsWith('BIND + Santa'));
  if (bindLat && santaLat) {
    for (const [p, goal] of [['p50', 0.15], ['p99', 0.1]] as const) {
      const v = santaLat.us[p].median / bindLat.us[p].median;
      t.push({ what: `${p} latency vs BIND at ${r.config.latencyQps / 1000}k qps`, measured: v, goal: `<= ${goal}x`, met: v <= goal });
    }
  }
  if (bindOn) {
    for (const p of r.throughput.filter((x) => x.arm === 'santa' && x.hitRatio <= 0.75)) {
      const v = p.answeredQps.median / idealBound(bindOn.answeredQps.median, p.hitRatio);
      t.push({ what: `${p.hitRatio * 100}% hits vs ideal BIND/(1-h)`, measured: v, goal: '>= 0.90x', met: v >= 0.9 });
    }
  }
  return t;
}

export function renderMarkdown(r: Results): string {
  const L: string[] = [];
  const runs = r.config.runs;
  L.push(`## Santa benchmark (${r.config.quick ? 'quick' : 'full'} mode, ${r.startedAt})`);
  L.push('');
  L.push(`Machine: ${r.machine.cpu}, ${r.machine.cores} cores, kernel ${r.machine.kernel}, Node ${r.machine.node}. ` +
    `Load average before/after: ${r.load.before.map((v) => v.toFixed(1)).join(' ')} / ${r.load.after.map((v) => v.toFixed(1)).join(' ')}.`);
  L.push(`XDP: ${r.xdpMode}.`);
  L.push(`Tools: ${r.generators.named}; dnsperf ${r.generators.dnsperf}; ${r.generators.kxdpgun}; ${r.generators.clang}.`);
  L.push(`Every cell: median of ${runs} run${runs > 1 ? 's' : ''}${runs > 1 ? ' (min–max)' : ''}.`);
  L.push('');
  L.push(`### Latency at ${r.config.latencyQps / 1000}k qps (dnsperf -Q, ${r.config.latencySeconds} s per run; RTT seen by the client, us)`);
  L.push('');
  L.push('| server | p50 | p90 | p99 | p99.9 | answers | lost |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const l of r.latency) {
    L.push(`| ${l.label} | ${['p50', 'p90', 'p99', 'p99.9'].map((p) => range(l.us[p], us)).join(' | ')} | ${l.samples} | ${l.lost} |`);
  }
  L.push('');
  L.push(`### Answered queries per second at saturation (kxdpgun, ${r.config.throughputSeconds} s per run at the offered rate that got the most answers)`);
  L.push('');
  const bindOn = r.throughput.find((p) => p.arm === 'bind' && p.querylog);
  L.push('| server | hit ratio | offered qps | answered qps | ideal BIND/(1-h) | x BIND (log on) | named us/query | server CPU us/answer | server CPU busy | XDP ns/packet |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of r.throughput) {
    const ideal = p.arm === 'santa' && bindOn ? idealBound(bindOn.answeredQps.median, p.hitRatio) : NaN;
    const x = bindOn ? p.answeredQps.median / bindOn.answeredQps.median : NaN;
    L.push(
      `| ${p.label} | ${p.arm === 'bind' ? '–' : `${p.hitRatio * 100}%`} | ${qps(p.offeredQps)} | ${range(p.answeredQps, qps)} | ${Number.isFinite(ideal) ? qps(ideal) : '–'} | ${ratio(x)} | ` +
        `${p.arm === 'minimal' ? '–' : range(p.cost.namedUsPerQuery, (v) => v.toFixed(2))} | ${range(p.cost.serverUsPerAnswer, (v) => v.toFixed(2))} | ` +
        `${range(p.cost.serverCpuBusy, (v) => `${(v * 100).toFixed(0)}%`)} | ${range(p.cost.xdpNsPerPacket, (v) => v.toFixed(0))} |`,
    );
  }
  L.push('');
  L.push('named us/query: named\'s utime+stime per query BIND answered (replies minus XDP hits). Server CPU: the server CPU\'s');
  L.push('busy time (1 - idle) per answered query, which covers named, the veth NAPI thread, softirq and XDP. XDP ns/packet:');
  L.push('bpf_stats run_time_ns/run_cnt of the program on the server veth (santa_xdp in mode off for "BIND alone").');
  L.push(`Offered qps: chosen per row by a ladder of ${r.config.probeSeconds} s probes coming down from ${qps(r.config.offeredQps)} qps by a factor of ${r.config.ladderStep},`);
  L.push(`${r.config.probeSeconds} s probes between its best rung and that rung's neighbours, then ${2 * r.config.probeSeconds} s probes of the three best rates, the best of`);
  L.push('which is used (`ladder`, `refine` and `confirm` in results.json): beyond its peak a server answers less, as its CPU');
  L.push('goes to receiving and dropping what it cannot serve, and erratically, so one probe can mislead.');
  const zero = r.throughput.find((p) => p.arm === 'santa' && p.hitRatio === 0);
  if (bindOn && zero) {
    const v = zero.answeredQps.median / bindOn.answeredQps.median;
    const named = (p: ThroughputPoint) => p.cost.namedUsPerQuery.median.toFixed(1);
    L.push(`BIND does the same work in the 0% row as alone (every query passes to it, query log on in both): that row answered`);
    L.push(`${ratio(v)} BIND alone's rate (peaks at ${qps(zero.offeredQps)} and ${qps(bindOn.offeredQps)} offered; named ${named(zero)} and ${named(bindOn)} us/query).` +
      (Math.abs(v - 1) > 0.15 ? ' More than 15% apart: every ratio to BIND alone in this run carries that much doubt.' : ''));
  }
  const clientMax = Math.max(...r.throughput.map((p) => p.ladder[0]?.[0] ?? 0));
  L.push(`kxdpgun itself sent at most ${qps(clientMax)} qps in this run (its first probe, asked for ${qps(r.config.offeredQps)}).`);
  L.push('');
  if (r.idleSidecar) {
    const i = r.idleSidecar;
    L.push(`Idle sidecar (\`santa run\`, native loader, query-log source, ${i.entriesAsked} hot names installed, no traffic for ${i.seconds.toFixed(0)} s): ` +
      `${(i.cpuFraction * 100).toFixed(2)}% of one CPU, RSS ${(i.rssBytes / 2 ** 20).toFixed(0)} MiB.`);
  } else {
    L.push('Idle sidecar: not measured (see the run\'s error output).');
  }
  L.push('');
  L.push('### Targets (issue 7), all from this run');
  L.push('');
  L.push('| target | measured | goal | |');
  L.push('|---|---:|---:|---|');
  for (const t of targets(r)) L.push(`| ${t.what} | ${ratio(t.measured)} | ${t.goal} | ${t.met ? 'met' : 'MISSED'} |`);
  L.push('');
  return L.join('\n');
}

/**
 * The two load generators, run in the client namespace and pinned to the client CPU, and the
 * parsers of what they print. dnsperf (-v) reports every query's RTT, which is what Figure 2
 * needs; kxdpgun (AF_XDP) is the only generator here fast enough to saturate the XDP path, so it
 * gives Figure 3 and the ceiling. Both are bounded by their own duration and a kill timeout.
 */
import { Testbed } from './testbed';

export interface DnsperfResult {
  sent: number;
  completed: number;
  seconds: number;
  /** RTT of every answered query, microseconds. */
  latenciesUs: Float64Array;
}

export function parseDnsperf(stdout: string): DnsperfResult {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(stdout);
    if (!m) throw new Error(`dnsperf output has no ${what}:\n${stdout.slice(-2000)}`);
    return Number(m[1]);
  };
  const lat: number[] = [];
  // "> NOERROR hit0.bench.test A 0.000056": one line per answered query (-v).
  const line = /^> \S+ \S+ \S+ (\d+\.\d+)$/gm;
  for (let m = line.exec(stdout); m; m = line.exec(stdout)) lat.push(Number(m[1]) * 1e6);
  return {
    sent: num(/Queries sent:\s+(\d+)/, 'Queries sent'),
    completed: num(/Queries completed:\s+(\d+)/, 'Queries completed'),
    seconds: num(/Run time \(s\):\s+([\d.]+)/, 'Run time'),
    latenciesUs: Float64Array.from(lat),
  };
}

export async function dnsperf(tb: Testbed, queryFile: string, seconds: number, qps: number): Promise<DnsperfResult> {
  await tb.attachClientPeer();
  const r = await tb.topo.exec(
    tb.topo.client,
    ['taskset', '-c', String(tb.opts.clientCpu), 'dnsperf', '-s', tb.topo.server.v4, '-d', queryFile, '-l', String(seconds), '-Q', String(qps), '-c', '1', '-T', '1', '-t', '2', '-v'],
    { timeoutMs: (seconds + 20) * 1000 },
  );
  return parseDnsperf(r.stdout);
}

export interface KxdpgunResult {
  sent: number;
  replies: number;
  seconds: number;
  answeredQps: number;
  mode: string;
}

export function parseKxdpgun(stdout: string): KxdpgunResult {
  const m = {
    sent: /total queries:\s+(\d+)/.exec(stdout),
    replies: /total replies:\s+(\d+)/.exec(stdout),
    seconds: /duration:\s+([\d.]+) s/.exec(stdout),
    mode: /(\w+) mode/.exec(stdout),
  };
  if (!m.sent || !m.replies || !m.seconds) throw new Error(`kxdpgun output lacks totals (run with responses counted):\n${stdout.slice(-2000)}`);
  const seconds = Number(m.seconds[1]);
  return { sent: Number(m.sent[1]), replies: Number(m.replies[1]), seconds, answeredQps: Number(m.replies[1]) / seconds, mode: m.mode?.[1] ?? 'unknown' };
}

/**
 * kxdpgun attaches its own XDP program to the client veth (which also satisfies native XDP_TX's
 * need for a program on the peer) and leaves it there: it is removed right after each run.
 */
export async function kxdpgun(tb: Testbed, queryFile: string, seconds: number, qps: number): Promise<KxdpgunResult> {
  await tb.freeClientVeth();
  try {
    const r = await tb.topo.exec(
      tb.topo.client,
      ['kxdpgun', '-t', String(seconds), '-Q', String(qps), '-F', String(tb.opts.clientCpu), '-i', queryFile, tb.topo.server.v4],
      { timeoutMs: (seconds + 20) * 1000 },
    );
    return parseKxdpgun(r.stdout);
  } finally {
    await tb.freeClientVeth();
  }
}

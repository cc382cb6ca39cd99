/**
 * What cookies cost the XDP program, per packet: hits without an option, with a client cookie
 * (one SipHash), with a valid server cookie (two), a stale cookie (pass), and a miss; beside the
 * same cookie-less hit on the program as it was before cookies (built from a git revision), in
 * the same run, so the cookie-less path can be compared.
 *
 *   npx tsx test/cookies/bench-cookie-cost.ts [--runs N] [--rounds R] [--baseline <git rev>]
 *
 * bpf_stats run_time_ns / run_cnt over N BPF_PROG_TEST_RUN calls with repeat = 1 (a hit
 * rewrites its buffer), median of R rounds. Needs root. Prints numbers; asserts nothing.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir, loadavg } from 'os';
import { join } from 'path';
import { REPO } from '../bpf/setup';
import { requireRoot } from '../support/require-root';
import { buildFrame, dnsQuery, FrameSpec } from '../support/packets';
import { responseFor, SantaUnderTest, monotonicNs, DEFAULT_SETTINGS } from '../xdp/harness';
import { cacheEntry, encodeSettings, keyFlags } from '../../sidecar/bpf/codec';
import { santaAbi } from '../../sidecar/bpf/abi';
import { cookieOption, serverCookie, wallClockOffsetNs } from '../../sidecar/cookies';

const SECRET = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
const CLIENT = Buffer.from('c0ffee0123456789', 'hex');
const NAME = 'www.example.test';
const V4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2' };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** santa.bpf.o as it was at `rev`, compiled the way xdp/Makefile does. */
function buildBaseline(rev: string, dir: string): string {
  mkdirSync(join(dir, 'include'));
  const show = (path: string) => execFileSync('git', ['-C', REPO, 'show', `${rev}:${path}`]);
  writeFileSync(join(dir, 'santa.bpf.c'), show('xdp/santa.bpf.c'));
  writeFileSync(join(dir, 'include', 'santa_abi.h'), show('xdp/include/santa_abi.h'));
  const arch = execFileSync('uname', ['-m']).toString().trim();
  const out = join(dir, 'santa.bpf.o');
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-Iinclude', `-I/usr/include/${arch}-linux-gnu`, '-c', 'santa.bpf.c', '-o', out], { cwd: dir });
  return out;
}

function cookieFrame(server?: Buffer): Buffer {
  const m = dnsQuery({ name: NAME, edns: { udpSize: 1232 } });
  const option = cookieOption(CLIENT, server);
  const dns = Buffer.concat([m, option]);
  dns.writeUInt16BE(option.length, m.length - 2);
  return buildFrame(V4, dns);
}

function main(): void {
  requireRoot('cookie cost benchmark');
  const runs = Number(arg('--runs', '20000'));
  const rounds = Number(arg('--rounds', '5'));
  const rev = arg('--baseline', 'efba29d~1');
  const santa = SantaUnderTest.load();
  const dir = mkdtempSync(join(tmpdir(), 'santa-cookie-bench-'));
  const baseObj = santa.bpf.loadObject(buildBaseline(rev, dir), { mapMaxEntries: { santa_hits: 1024, santa_cache_32: 1024, santa_cache_64: 1024, santa_cache_128: 1024, santa_cache_256: 1024 } });
  const statsFd = santa.bpf.enableStats();
  try {
    santa.settings({ cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs() } });
    const answers = [{ name: NAME, type: 'A' as const, ttl: 300, data: '192.0.2.1' }];
    santa.install({ name: NAME, slot: 1, answers, families: ['v4'] });
    santa.install({ name: NAME, slot: 2, edns: true, answers, families: ['v4'] });

    // The baseline's cache layout is unchanged; its settings are the prefix the new layout extends.
    const abi = santaAbi();
    // (SantaMaps refuses the older settings layout, rightly: raw updates here.)
    const expiresNs = monotonicNs() + 600_000_000_000n;
    for (const edns of [false, true]) {
      const e = cacheEntry({ question: { name: NAME, type: 'A' }, reply: responseFor({ name: NAME, edns, answers, slot: 1 }), slot: 1, expiresNs, keyFlags: keyFlags({ recursionDesired: false, edns, dnssecOk: false, ipv6: false }) });
      const value = Buffer.alloc(abi.value.size);
      e.value.copy(value);
      santa.bpf.update(baseObj.maps[e.mapName], e.key, value);
    }
    const settingsSize = abi.settings.cookieOn; // the old struct ended where the cookie fields begin
    santa.bpf.update(baseObj.maps[abi.maps.settings], Buffer.alloc(4), encodeSettings(DEFAULT_SETTINGS).subarray(0, settingsSize));

    const now = Math.floor(Date.now() / 1000);
    const plain = buildFrame(V4, dnsQuery({ name: NAME }));
    const edns = buildFrame(V4, dnsQuery({ name: NAME, edns: { udpSize: 1232 } }));
    const cases = [
      { label: 'before cookies: hit, IPv4, no EDNS', fd: baseObj.progs[abi.progName], frame: plain, retval: 3 },
      { label: 'before cookies: hit, IPv4, EDNS', fd: baseObj.progs[abi.progName], frame: edns, retval: 3 },
      { label: 'hit, IPv4, no EDNS', fd: santa.progFd, frame: plain, retval: 3 },
      { label: 'hit, IPv4, EDNS without options', fd: santa.progFd, frame: edns, retval: 3 },
      { label: 'hit, IPv4, client cookie (mints: 1 SipHash)', fd: santa.progFd, frame: cookieFrame(), retval: 3 },
      { label: 'hit, IPv4, valid server cookie (checks and mints: 2 SipHash)', fd: santa.progFd, frame: cookieFrame(serverCookie(SECRET, CLIENT, V4.src, now - 60)), retval: 3 },
      { label: 'pass, IPv4, stale server cookie', fd: santa.progFd, frame: cookieFrame(serverCookie(SECRET, CLIENT, V4.src, now - 7200)), retval: 2 },
      { label: 'pass, IPv4, forged server cookie (1 SipHash)', fd: santa.progFd, frame: cookieFrame(Buffer.concat([serverCookie(SECRET, CLIENT, V4.src, now).subarray(0, 8), Buffer.alloc(8)])), retval: 2 },
      { label: 'miss, IPv4', fd: santa.progFd, frame: buildFrame(V4, dnsQuery({ name: 'nothere.example.test' })), retval: 2 },
    ];
    const perRound = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        const first = santa.bpf.progTestRun(c.fd, c.frame, { repeat: 1 });
        if (first.retval !== c.retval) throw new Error(`${c.label}: program returned ${first.retval}, expected ${c.retval}`);
        const before = santa.bpf.progInfo(c.fd);
        for (let i = 0; i < runs; i++) santa.bpf.progTestRun(c.fd, c.frame, { repeat: 1 });
        const after = santa.bpf.progInfo(c.fd);
        perRound.set(c.label, [...(perRound.get(c.label) ?? []), (after.runTimeNs - before.runTimeNs) / (after.runCnt - before.runCnt)]);
      }
    }
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; baseline ${rev}`);
    console.log(`santa_xdp cost per packet: bpf_stats over ${runs} test runs (repeat=1), median of ${rounds} rounds`);
    console.log('| case | ns/packet |');
    console.log('|---|---:|');
    for (const c of cases) console.log(`| ${c.label} | ${median(perRound.get(c.label)!).toFixed(1)} |`);
  } finally {
    santa.bpf.closeFd(statsFd);
    santa.bpf.closeObject(baseObj.id);
    santa.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main();

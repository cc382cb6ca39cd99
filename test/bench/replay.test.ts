/**
 * The replay wrapper the warm benchmarks time santa_xdp through (replay.ts): every live-frame run
 * of a hit must be a hit, and every run of a miss a miss, or the figures are of something else.
 * Runs as root; fails (never skips) when BPF is unavailable.
 */
import * as dnsPacket from 'dns-packet';
import { execFileSync } from 'child_process';
import { join } from 'path';
import { loadNative } from '../../sidecar/bpf/native';
import { REPO } from '../bpf/setup';
import { createTopology, Topology } from '../support/netns';
import { buildFrame, dnsQuery } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { Replay } from './replay';

requireRoot('replay wrapper tests');

let santa: SantaUnderTest;
let topo: Topology;
let replay: Replay;
let statsFd: number;

beforeAll(async () => {
  execFileSync('make', ['-s', '-C', join(REPO, 'xdp'), 'build/replay.bpf.o']);
  santa = SantaUnderTest.load();
  topo = await createTopology();
  replay = Replay.load(loadNative(), topo.server.nsPath);
  statsFd = loadNative().enableStats();
});

afterAll(async () => {
  replay?.close();
  santa?.close();
  if (statsFd !== undefined) loadNative().closeFd(statsFd);
  await topo?.destroy();
});

const v4 = { src: '10.53.0.1', dst: '10.53.0.2' };

it('makes every live run of a hit a hit, and of a miss a miss', () => {
  const answers: dnsPacket.Answer[] = [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }];
  santa.install({ name: 'www.example.test', slot: 1, answers });
  const runs = 5000;
  const before = santa.maps.readStats();
  expect(replay.time(santa.progFd, buildFrame(v4, dnsQuery({ name: 'www.example.test' })), runs)).toBeGreaterThan(0);
  const mid = santa.maps.readStats();
  expect(mid.HITS - before.HITS).toBe(runs);
  expect(mid.PACKETS - before.PACKETS).toBe(runs);
  replay.time(santa.progFd, buildFrame(v4, dnsQuery({ name: 'nothere.example.test' })), runs);
  const after = santa.maps.readStats();
  expect(after.PASS_MISS - mid.PASS_MISS).toBe(runs);
  expect(after.HITS).toBe(mid.HITS);
});

it('refuses a frame it cannot hold', () => {
  expect(() => replay.time(santa.progFd, Buffer.alloc(600), 1)).toThrow(/a frame of 600 bytes/);
});

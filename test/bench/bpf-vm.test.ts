/**
 * bpf-vm, the interpreter that counts what santa_xdp executes, must run the program as the kernel
 * does, or its counts are of some other path: on hits (IPv4, IPv6 with EDNS, two VLAN tags, a
 * padded frame that shrinks, a reply that outgrows the headroom), misses, and packets that pass
 * early, its return value and output frame must equal BPF_PROG_TEST_RUN's, byte for byte, from
 * the same map contents. Runs as root; fails (never skips) when BPF is unavailable.
 */
import { SANTA_OBJ } from '../bpf/setup';
import { buildFrame, dnsQuery, FrameSpec, QuerySpec } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { monotonicNs, SantaUnderTest, XDP_PASS, XDP_TX } from '../xdp/harness';
import { readBpfObject, runXdp } from './bpf-vm';
import { readMapImages } from './map-images';

requireRoot('bpf-vm tests');

let santa: SantaUnderTest;

beforeAll(() => {
  santa = SantaUnderTest.load();
  santa.install({ name: 'www.example.test', answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }], slot: 1 });
  santa.install({ name: 'www.example.test', rd: true, edns: true, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }], slot: 2 });
  const eight = Array.from({ length: 8 }, (_, i) => ({ name: 'many.example.test', type: 'A' as const, ttl: 300, data: `192.0.2.${i + 1}` }));
  santa.install({ name: 'many.example.test', answers: eight, slot: 3 });
  santa.install({ name: 'long.example.test', answers: Array.from({ length: 12 }, (_, i) => ({ name: 'long.example.test', type: 'TXT' as const, ttl: 300, data: `record ${i} ${'x'.repeat(40)}` })), type: 'TXT', edns: true, slot: 4 });
});

afterAll(() => santa?.close());

const v4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2' };
const v6: FrameSpec = { src: 'fd00::1', dst: 'fd00::2' };
const cases: Array<[string, FrameSpec, QuerySpec, number]> = [
  ['hit, IPv4', v4, { name: 'www.example.test' }, XDP_TX],
  ['hit, IPv4, mixed case', v4, { name: 'WwW.ExAmple.TEST' }, XDP_TX],
  ['hit, IPv6, RD and EDNS', v6, { name: 'www.example.test', rd: true, edns: { udpSize: 1232 } }, XDP_TX],
  ['hit, two VLAN tags', { ...v4, vlans: [{ tpid: 0x88a8, vid: 10 }, { tpid: 0x8100, vid: 20 }] }, { name: 'www.example.test' }, XDP_TX],
  ['hit, padded frame (the reply shrinks it)', { ...v4, padTo: 200 }, { name: 'www.example.test' }, XDP_TX],
  ['hit, 8 A records (grows past the headroom)', v4, { name: 'many.example.test' }, XDP_TX],
  ['hit, 12 TXT records', v4, { name: 'long.example.test', type: 'TXT', edns: { udpSize: 4096 } }, XDP_TX],
  ['miss', v4, { name: 'nothere.example.test' }, XDP_PASS],
  ['miss past the filter', v4, { name: 'www.exampla.test' }, XDP_PASS],
  ['not DNS (port 123)', { ...v4, dport: 123 }, { name: 'www.example.test' }, XDP_PASS],
];

describe('bpf-vm runs santa_xdp as the kernel does', () => {
  test.each(cases)('%s', (_label, spec, query, expected) => {
    const frame = buildFrame(spec, dnsQuery(query));
    const images = readMapImages(santa.bpf, santa.obj);
    const vm = runXdp(readBpfObject(SANTA_OBJ, 'xdp', 'santa_xdp'), images, frame, { jiffies: santa.maps.leaseJiffies(monotonicNs()) });
    const kernel = santa.run(frame);
    expect(kernel.retval).toBe(expected);
    expect(vm.retval).toBe(kernel.retval);
    expect(vm.frame.toString('hex')).toBe(kernel.out.toString('hex'));
    expect(vm.counts.instructions).toBeGreaterThan(20);
    if (expected === XDP_TX) expect(vm.counts.mapLookups).toBeGreaterThanOrEqual(6);
  });

  test('an unmodelled helper or map stops the run instead of counting a wrong path', () => {
    const images = readMapImages(santa.bpf, santa.obj);
    images.delete('santa_settings');
    const frame = buildFrame(v4, dnsQuery({ name: 'www.example.test' }));
    expect(() => runXdp(readBpfObject(SANTA_OBJ, 'xdp', 'santa_xdp'), images, frame, { jiffies: 0n })).toThrow(/santa_settings/);
  });
});

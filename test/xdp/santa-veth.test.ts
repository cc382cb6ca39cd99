/**
 * santa_xdp on a real veth pair, native and generic mode, queried by dig from a client
 * namespace. Covers what BPF_PROG_TEST_RUN cannot: test-run frames have a page of tailroom, so
 * the headroom and split paths of the resize, and PASS_NO_ROOM, only happen on a driver with
 * little room. Native veth gives about 216 bytes of headroom and 30-50 of tailroom (see
 * ../../../shared/testbed-notes.md), so with an 88-byte query:
 *   - a 130-byte reply grows by 42 bytes: tailroom alone;
 *   - a 240-byte reply grows by ~190: more than the tailroom, within the headroom;
 *   - a 280-byte reply grows by ~230: more than either end alone, so tail and head together;
 *   - a 700-byte reply fits neither: PASS_NO_ROOM, and the kernel refuses it (nothing listens).
 * Every answer arrives through the client's UDP stack, which drops bad checksums (counted in
 * UdpInCsumErrors, checked to stay zero).
 */
import { requireRoot, requireTools } from '../support/require-root';
import { snmpCounter } from '../support/netns';
import { dig, startVethSanta, txtEntryOfReplySize, VethSanta } from './veth';

jest.setTimeout(120_000);

beforeAll(() => {
  requireRoot('santa_xdp on veth');
  requireTools('santa_xdp on veth', ['dig']);
});

async function expectAnswered(v: VethSanta, replySize: number, slot: number, opts: { v6?: boolean } = {}): Promise<void> {
  const name = `r${replySize}.example.test`;
  const entry = txtEntryOfReplySize(name, replySize, slot);
  v.santa.install(entry);
  const hitsBefore = v.santa.hits(slot);
  const r = await dig(v, name, 'TXT', opts);
  if (r.code !== 0) throw new Error(`${v.mode}: no answer for a ${replySize}-byte reply: ${r.output}`);
  expect(r.lines).toEqual([entry.strings.map((t) => `"${t}"`).join(' ')]);
  expect(v.santa.hits(slot)).toBe(hitsBefore + 1);
}

/**
 * Asks for a reply too big for the frame. veth sometimes hands XDP a frame copied into a full
 * page (depending on how the sender's skb was allocated), and then even a big reply fits; so
 * up to five queries are sent, each must end as a correct answer or as PASS_NO_ROOM (refused
 * by the kernel), and at least one must be NO_ROOM.
 */
async function expectNoRoom(v: VethSanta, replySize: number, slot: number): Promise<void> {
  const name = `r${replySize}.example.test`;
  const entry = txtEntryOfReplySize(name, replySize, slot);
  v.santa.install(entry);
  let noRoom = 0;
  for (let attempt = 0; attempt < 5 && noRoom === 0; attempt++) {
    const before = v.santa.maps.readStats();
    const r = await dig(v, name, 'TXT');
    const after = v.santa.maps.readStats();
    if (r.code === 0) {
      expect(r.lines).toEqual([entry.strings.map((t) => `"${t}"`).join(' ')]);
      expect(after.HITS - before.HITS).toBe(1);
    } else {
      expect(after.PASS_NO_ROOM - before.PASS_NO_ROOM).toBe(1);
      expect(after.HITS).toBe(before.HITS);
      noRoom++;
    }
  }
  expect(noRoom).toBe(1);
}

describe.each(['native', 'generic'] as const)('%s mode', (mode) => {
  let v: VethSanta | undefined;

  beforeAll(async () => {
    v = await startVethSanta(mode);
  });

  afterAll(async () => {
    await v?.close();
  });

  it('answers through the tailroom, the headroom, and both', async () => {
    const csumErrors = await snmpCounter(v!.topo.client.ns, 'Udp', 'InCsumErrors');
    await expectAnswered(v!, 130, 1);
    await expectAnswered(v!, 240, 2);
    await expectAnswered(v!, 280, 3);
    await expectAnswered(v!, 240, 2, { v6: true });
    expect(await snmpCounter(v!.topo.client.ns, 'Udp', 'InCsumErrors')).toBe(csumErrors);
    expect(await snmpCounter(v!.topo.client.ns, 'Udp6', 'InCsumErrors', true)).toBe(0);
  });

  it('answers a query without EDNS', async () => {
    const name = 'plain.example.test';
    v!.santa.install({ name, slot: 10, answers: [{ name, type: 'A', ttl: 60, data: '192.0.2.77' }] });
    const r = await dig(v!, name, 'A', { edns: false });
    expect(r.lines).toEqual(['192.0.2.77']);
  });

  it('passes what does not fit, counted as NO_ROOM', async () => {
    // Generic mode has more tailroom than native (~350 more bytes here), not unlimited.
    await expectNoRoom(v!, mode === 'native' ? 700 : 1200, 4);
  });
});

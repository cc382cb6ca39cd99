/**
 * A bounded UDP query flood from one source address, for the RRL end-to-end test (run inside
 * the client namespace). Sends `count` queries for one name at an even pace over `ms`
 * milliseconds (RD and EDNS set, no cookie: what dig +nocookie asks), waits a second for stragglers, and prints one JSON line: how many replies
 * were full answers, truncated (TC), or malformed, and how many queries got nothing.
 *
 *   node --require tsx/cjs test/rrl/flood.ts <server> <source> <name> <count> <ms>
 */
import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';

/** What flood.ts prints as JSON when it is done. */
export interface Tally {
  sent: number;
  answered: number;
  truncated: number;
  malformed: string[];
  unanswered: number;
  elapsedMs: number;
}

async function flood(server: string, source: string, name: string, count: number, ms: number): Promise<Tally> {
  const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((done) => sock.bind({ address: source, port: 0 }, done));
  const pending = new Set<number>();
  const tally: Tally = { sent: 0, answered: 0, truncated: 0, malformed: [], unanswered: 0, elapsedMs: 0 };
  sock.on('message', (m) => {
    let d: ReturnType<typeof dnsPacket.decode>;
    try {
      d = dnsPacket.decode(m);
    } catch (e) {
      tally.malformed.push(`undecodable: ${(e as Error).message}`);
      return;
    }
    const id = d.id ?? -1;
    if (!pending.delete(id)) return tally.malformed.push(`reply to an unknown or repeated id ${id}`) && undefined;
    if (d.questions?.[0]?.name.toLowerCase() !== name.toLowerCase()) tally.malformed.push(`id ${id}: question ${d.questions?.[0]?.name}`);
    else if (d.flag_tc) {
      // A slip: TC, no records but the OPT.
      if (d.answers?.length || d.authorities?.length) tally.malformed.push(`id ${id}: truncated reply carries records`);
      else tally.truncated++;
    } else if (d.answers?.length) tally.answered++;
    else tally.malformed.push(`id ${id}: neither an answer nor truncated`);
  });
  const start = Date.now();
  const query = (id: number) =>
    dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] });
  for (let i = 0; i < count; i++) {
    const due = start + (i * ms) / count;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = (i + 1) & 0xffff;
    pending.add(id);
    sock.send(query(id), 53, server);
    tally.sent++;
  }
  tally.elapsedMs = Date.now() - start;
  await new Promise((r) => setTimeout(r, 1000));
  tally.unanswered = pending.size;
  sock.close();
  return tally;
}

const [server, source, name, count, ms] = process.argv.slice(2);
if (!server || !source || !name || !(Number(count) > 0 && Number(count) <= 65535) || !(Number(ms) > 0)) {
  process.stderr.write('usage: flood.ts <server> <source> <name> <count 1..65535> <ms>\n');
  process.exit(2);
}
flood(server, source, name, Number(count), Number(ms)).then(
  (t) => process.stdout.write(`${JSON.stringify(t)}\n`),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);

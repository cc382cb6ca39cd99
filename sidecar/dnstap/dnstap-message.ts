/**
 * dnstap protobuf payloads to query events. The schema is dnstap.proto beside this file.
 */
import { existsSync } from 'fs';
import { join, resolve } from 'path';
import * as protobuf from 'protobufjs';
import { KEY_V6, QueryEvent } from '../ranking/question-key';
import { UnreadableTally } from '../querylog/unreadable-tally';
import { WireError, readWireQuestion } from './query-wire';
import { formatIpv6 } from '../net/ip';

/** Message.Type values (dnstap.proto). An authoritative BIND 9.18 (`recursion no`) tags every
 * received query AUTH_QUERY, RD set or not (seen with dnstap-read); CLIENT_QUERY is for
 * queries a recursive view serves. Santa takes both, so `dnstap { auth query; client query; };`
 * also covers servers with recursive views. */
export const MessageType = {
  AUTH_QUERY: 1,
  AUTH_RESPONSE: 2,
  CLIENT_QUERY: 5,
  CLIENT_RESPONSE: 6,
} as const;

const SOCKET_PROTOCOL_TCP = 2;
const SOCKET_FAMILY_INET6 = 2;
const DNSTAP_TYPE_MESSAGE = 1;

interface DnstapFrame {
  type: number;
  message?: {
    type: number;
    socketFamily?: number;
    socketProtocol?: number;
    queryAddress?: Uint8Array;
    responseAddress?: Uint8Array;
    queryPort?: number;
    queryMessage?: Uint8Array;
  };
}

let dnstapType: protobuf.Type | undefined;

/** The .proto sits beside this module in the source tree; a compiled copy under dist/ finds
 * it back in the source tree. */
function schemaPath(): string {
  const candidates = [join(__dirname, 'dnstap.proto'), resolve(__dirname, '../../../sidecar/dnstap/dnstap.proto')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`dnstap.proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

function schema(): protobuf.Type {
  if (!dnstapType) dnstapType = protobuf.loadSync(schemaPath()).lookupType('dnstap.Dnstap');
  return dnstapType;
}

export interface DnstapStats {
  frames: number;
  queries: number;
  /** Frames that are valid but not a query to count (responses, other message types). */
  ignored: number;
  readonly unreadable: UnreadableTally;
}

export class DnstapEventDecoder {
  readonly stats: DnstapStats = { frames: 0, queries: 0, ignored: 0, unreadable: new UnreadableTally() };
  private readonly type = schema();

  constructor(
    private readonly source: string,
    private readonly onEvent: (event: QueryEvent) => void,
    private readonly messageTypes: ReadonlySet<number> = new Set([MessageType.AUTH_QUERY, MessageType.CLIENT_QUERY]),
  ) {}

  /** One data frame's payload. Never throws on bad input: it is counted and sampled. */
  payload(bytes: Uint8Array): void {
    const frameNo = ++this.stats.frames;
    let frame: DnstapFrame;
    try {
      frame = this.type.decode(bytes) as unknown as DnstapFrame;
    } catch (err) {
      this.bad(frameNo, `protobuf: ${(err as Error).message}`, bytes);
      return;
    }
    const m = frame.message;
    if (frame.type !== DNSTAP_TYPE_MESSAGE || !m || !this.messageTypes.has(m.type)) {
      this.stats.ignored++;
      return;
    }
    if (!m.queryMessage || m.queryMessage.length === 0) {
      this.bad(frameNo, 'query frame without query_message', bytes);
      return;
    }
    let q;
    try {
      q = readWireQuestion(m.queryMessage);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.bad(frameNo, `query_message: ${err.message}`, bytes);
      return;
    }
    if (q.opcode !== 0) {
      this.stats.ignored++;
      return;
    }
    this.stats.queries++;
    this.onEvent({
      name: q.name,
      qtype: q.qtype,
      qclass: q.qclass,
      flags: m.socketFamily === SOCKET_FAMILY_INET6 || m.queryAddress?.length === 16 ? q.flags | KEY_V6 : q.flags,
      ednsVersion: q.ednsVersion,
      cd: q.cd,
      tcp: m.socketProtocol === SOCKET_PROTOCOL_TCP,
      signed: false, // dnstap carries the message, not BIND's TSIG verdict
      client: addressText(m.queryAddress),
      clientPort: m.queryPort ?? 0,
      destination: addressText(m.responseAddress),
      view: undefined,
      ecs: undefined,
    });
  }

  private bad(frameNo: number, reason: string, bytes: Uint8Array): void {
    const head = Buffer.from(bytes.subarray(0, 48)).toString('hex');
    this.stats.unreadable.note(`${this.source}:frame ${frameNo}`, reason, `${bytes.length} bytes: ${head}`);
  }
}

/** 4 or 16 network-order bytes as an address; "" for anything else. */
export function addressText(bytes: Uint8Array | undefined): string {
  if (!bytes) return '';
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return '';
  return formatIpv6(bytes);
}

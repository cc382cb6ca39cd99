/**
 * Parser for one line of BIND's `queries` log category (BIND 9.11 to 9.20).
 *
 * BIND builds the line in two steps (lib/ns/client.c ns_client_logv, lib/ns/query.c
 * log_query), so its shape is, after whatever the channel prepends (print-time in any of
 * its formats, print-category, print-severity, or a syslog header):
 *
 *   client [@0x<object> ]<addr>#<port>[/key <signer>][ (<qname>)][: view <view>]: query:
 *     <name> <class> <type> <flags>[ (<destination>)][ [ECS <subnet>]]
 *
 * Names are printed in presentation format with RFC 1035 escapes, so a space never occurs
 * inside a name, and the literal ": query: " can only be the message separator. The parser
 * scans with indexOf/charCodeAt rather than a regular expression: it runs once per query
 * BIND answers, and the query log can carry a million lines per second.
 */
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, QueryEvent, dnsLowerCase } from '../ranking/question-key';
import { rrClassFromText, rrTypeFromText } from '../ranking/rr-mnemonics';

export interface UnreadableLine {
  /** Why the line is not a query line, for the sampled warning. */
  readonly reason: string;
}

export type ParsedLine = QueryEvent | UnreadableLine;

export function isUnreadable(parsed: ParsedLine): parsed is UnreadableLine {
  return (parsed as UnreadableLine).reason !== undefined;
}

const CLIENT = 'client ';
const QUERY_SEP = ': query: ';
const VIEW_SEP = ': view ';
const ECS_OPEN = ' [ECS ';

const CH_SPACE = 32;
const CH_LPAREN = 40;
const CH_RPAREN = 41;
const CH_PLUS = 43;
const CH_MINUS = 45;
const CH_0 = 48;
const CH_9 = 57;
const CH_AT = 64;
const CH_RBRACKET = 93;

function unreadable(reason: string): UnreadableLine {
  return { reason };
}

/**
 * Parses one query-log line (without its newline). Anything that is not a query line
 * (another category sharing the channel, a truncated write) comes back as UnreadableLine.
 */
export function parseQueryLine(line: string): ParsedLine {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 13 || line.charCodeAt(end - 1) === CH_SPACE)) end--;

  // The channel's prefix has no fixed shape, so anchor on "client " at a word start.
  let c = line.indexOf(CLIENT);
  while (c > 0 && line.charCodeAt(c - 1) !== CH_SPACE) c = line.indexOf(CLIENT, c + 1);
  if (c < 0) return unreadable('no "client " part');

  const q = line.indexOf(QUERY_SEP, c);
  if (q < 0 || q > end) return unreadable('no ": query: " part');

  // --- the client part: [@0x<object> ]<addr>#<port>...
  let p = c + CLIENT.length;
  if (line.charCodeAt(p) === CH_AT) {
    p = line.indexOf(' ', p);
    if (p < 0 || p > q) return unreadable('client object without address');
    p++;
  }
  const hash = line.indexOf('#', p);
  if (hash < 0 || hash > q) return unreadable('client address without #port');
  const client = line.slice(p, hash);
  let port = 0;
  let i = hash + 1;
  for (; i < q; i++) {
    const d = line.charCodeAt(i);
    if (d < CH_0 || d > CH_9) break;
    port = port * 10 + (d - CH_0);
  }
  if (i === hash + 1 || port > 65535) return unreadable('bad client port');

  // ": view NAME" ends right before ": query: "; a view name has no space in practice.
  let view: string | undefined;
  let s = q - 1;
  while (s > i && line.charCodeAt(s) !== CH_SPACE) s--;
  if (s > i && line.startsWith(VIEW_SEP, s - VIEW_SEP.length + 1)) view = line.slice(s + 1, q);

  // --- the message: <name> <class> <type> <flags>[ (<dest>)][ [ECS <subnet>]]
  const nameStart = q + QUERY_SEP.length;
  const nameEnd = line.indexOf(' ', nameStart);
  if (nameEnd <= nameStart || nameEnd > end) return unreadable('no query name');
  const classEnd = line.indexOf(' ', nameEnd + 1);
  if (classEnd < 0 || classEnd > end) return unreadable('no query class');
  const typeEnd = line.indexOf(' ', classEnd + 1);
  if (typeEnd < 0 || typeEnd > end) return unreadable('no query type');
  // IN, A and AAAA are nearly all traffic: recognise them without cutting a string.
  const classLen = classEnd - nameEnd - 1;
  const qclass =
    classLen === 2 && line.charCodeAt(nameEnd + 1) === 73 && line.charCodeAt(nameEnd + 2) === 78
      ? 1
      : rrClassFromText(line.slice(nameEnd + 1, classEnd));
  if (qclass < 0) return unreadable('unknown class');
  const typeLen = typeEnd - classEnd - 1;
  const qtype =
    typeLen === 1 && line.charCodeAt(classEnd + 1) === 65
      ? 1
      : typeLen === 4 && line.startsWith('AAAA', classEnd + 1)
        ? 28
        : rrTypeFromText(line.slice(classEnd + 1, typeEnd));
  if (qtype < 0) return unreadable('unknown type');

  // Flags: +/- (RD), S (signed), E(n) (EDNS version n), T (TCP), D (DO), C (CD), V/K (cookie)
  i = typeEnd + 1;
  const rdChar = line.charCodeAt(i);
  if (rdChar !== CH_PLUS && rdChar !== CH_MINUS) return unreadable('flags do not start with + or -');
  let flags = rdChar === CH_PLUS ? KEY_RD : 0;
  if (client.indexOf(':') >= 0) flags |= KEY_V6; // only IPv6 addresses contain a colon
  let ednsVersion = -1;
  let tcp = false;
  let cd = false;
  let signed = false;
  for (i++; i < end; i++) {
    const f = line.charCodeAt(i);
    if (f === CH_SPACE) break;
    switch (f) {
      case 69: { // E, E(n) since 9.11; plain E in older releases
        flags |= KEY_EDNS;
        ednsVersion = 0;
        if (line.charCodeAt(i + 1) === CH_LPAREN) {
          let n = 0;
          let j = i + 2;
          for (; j < end; j++) {
            const d = line.charCodeAt(j);
            if (d < CH_0 || d > CH_9) break;
            n = n * 10 + (d - CH_0);
          }
          if (j === i + 2 || line.charCodeAt(j) !== CH_RPAREN || n > 255) {
            return unreadable('bad EDNS version');
          }
          ednsVersion = n;
          i = j;
        }
        break;
      }
      case 68: flags |= KEY_DO; break; // D
      case 84: tcp = true; break; // T
      case 67: cd = true; break; // C
      case 83: signed = true; break; // S
      case 86: case 75: break; // V, K: cookie state does not change the answer
      default: return unreadable('unknown query flag');
    }
  }

  let destination = '';
  let ecs: string | undefined;
  if (i < end && line.charCodeAt(i + 1) === CH_LPAREN) {
    const close = line.indexOf(')', i + 2);
    if (close < 0 || close > end) return unreadable('unterminated destination');
    destination = line.slice(i + 2, close);
    i = close + 1;
  }
  if (i < end) {
    if (!line.startsWith(ECS_OPEN, i) || line.charCodeAt(end - 1) !== CH_RBRACKET) {
      return unreadable('unexpected text after the flags');
    }
    ecs = line.slice(i + ECS_OPEN.length, end - 1);
  }

  return {
    name: dnsLowerCase(line.slice(nameStart, nameEnd)),
    qtype,
    qclass,
    flags,
    ednsVersion,
    tcp,
    cd,
    signed,
    client,
    clientPort: port,
    destination,
    view,
    ecs,
  };
}

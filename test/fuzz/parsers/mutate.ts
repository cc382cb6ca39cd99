/**
 * Mutations of text and bytes shared by the parser fuzzers: cuts, splices, repeated and
 * dropped lines, bytes from the syntax's own alphabet, and long runs that probe limits.
 */
import { Rng } from '../random';

export function mutateText(text: string, rng: Rng, alphabet: string, words: readonly string[]): string {
  let t = text;
  for (let n = rng.range(1, 4); n > 0; n--) {
    const at = rng.int(t.length + 1);
    switch (rng.int(9)) {
      case 0:
        t = t.slice(0, at); // truncated file
        break;
      case 1:
        t = t.slice(0, at) + alphabet[rng.int(alphabet.length)] + t.slice(at);
        break;
      case 2:
        t = t.slice(0, at) + t.slice(at + rng.range(1, 8));
        break;
      case 3:
        t = t.slice(0, at) + ` ${rng.pick(words)} ` + t.slice(at);
        break;
      case 4: {
        const lines = t.split('\n');
        const i = rng.int(lines.length);
        if (rng.chance(0.5)) lines.splice(i, 1);
        else lines.splice(rng.int(lines.length + 1), 0, lines[i]);
        t = lines.join('\n');
        break;
      }
      case 5:
        t = t.slice(0, at) + alphabet[rng.int(alphabet.length)].repeat(rng.pick([2, 64, 255, 256, 1000, 70000])) + t.slice(at);
        break;
      case 6:
        t = t.slice(0, at) + String.fromCharCode(rng.pick([0, 0xd, 0x7f, 0xa0, 0xfffd, 0xd800, 0x2028])) + t.slice(at);
        break;
      case 7: {
        const from = rng.int(t.length + 1);
        t = t.slice(0, at) + t.slice(from, from + rng.range(1, 200)) + t.slice(at);
        break;
      }
      default:
        t = t.slice(0, at) + '\n' + Array.from({ length: rng.range(1, 6) }, () => rng.pick(words)).join(rng.pick([' ', '\t', ''])) + '\n' + t.slice(at);
    }
  }
  return t;
}

export function randomText(rng: Rng, alphabet: string, words: readonly string[]): string {
  const parts: string[] = [];
  for (let n = rng.range(0, 60); n > 0; n--) parts.push(rng.chance(0.6) ? rng.pick(words) : alphabet[rng.int(alphabet.length)]);
  return parts.join(rng.pick([' ', '', '\n', '\t']));
}

export function mutateBytes(b: Buffer, rng: Rng): Buffer {
  let out = Buffer.from(b);
  for (let n = rng.range(1, 4); n > 0; n--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(6)) {
      case 0:
        out = out.subarray(0, at);
        break;
      case 1:
        if (out.length > 0) out[rng.int(out.length)] ^= 1 << rng.int(8);
        break;
      case 2:
        if (out.length > 0) out[rng.int(out.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0xc0, 0x3f, 0x40]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), rng.bytes(rng.range(1, 16)), out.subarray(at)]);
        break;
      case 4:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + rng.range(1, 16))]);
        break;
      default: {
        // A length-looking field set to something large.
        if (out.length >= at + 4) out.writeUInt32BE(rng.pick([0, 1, 0xff, 0x7fffffff, 0xffffffff, rng.u32()]), at);
      }
    }
  }
  return out;
}

/**
 * Parsers for single configuration values. Each one accepts the value in the two forms a
 * setting can arrive in: a typed YAML value (number, boolean, string, list, map) or the plain
 * text of an environment variable or command-line flag. A parser either returns the value or
 * throws ValueError whose message says what is allowed; the loader adds the key and where
 * the value came from.
 */
import * as path from 'node:path';
import { suggest } from './suggest';

export type RawValue = { form: 'yaml'; value: unknown } | { form: 'text'; value: string };

export class ValueError extends Error {
  /** Path inside a structured value (for example [1, 'xdp_mode']) so the loader can point at
   * the exact YAML node. */
  constructor(message: string, readonly at: ReadonlyArray<string | number> = []) {
    super(message);
    this.name = 'ValueError';
  }
}

export interface ValueParser<T> {
  /** What is allowed, phrased to follow "must be". */
  readonly allowed: string;
  /** baseDir resolves relative paths: the YAML file's directory, or the working directory for
   * environment variables and flags. */
  parse(raw: RawValue, baseDir: string): T;
}

export function show(raw: RawValue): string {
  if (raw.form === 'text') return JSON.stringify(raw.value);
  if (raw.value === null || raw.value === undefined) return 'nothing (empty value)';
  if (Array.isArray(raw.value)) return 'a list';
  if (typeof raw.value === 'object') return 'a map';
  return `${typeof raw.value} ${JSON.stringify(raw.value)}`;
}

function mismatch(allowed: string, raw: RawValue): ValueError {
  return new ValueError(`must be ${allowed}, got ${show(raw)}`);
}

function numberFrom(raw: RawValue, allowed: string): number {
  if (raw.form === 'yaml') {
    if (typeof raw.value !== 'number') throw mismatch(allowed, raw);
    return raw.value;
  }
  const text = raw.value.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) throw mismatch(allowed, raw);
  return Number(text);
}

export function integer(min: number, max: number): ValueParser<number> {
  const allowed = `an integer from ${min} to ${max}`;
  return {
    allowed,
    parse(raw) {
      const n = numberFrom(raw, allowed);
      if (!Number.isInteger(n) || n < min || n > max) throw mismatch(allowed, raw);
      return n;
    },
  };
}

/** A duration in seconds; fractions allowed because sub-second ranking intervals are useful in
 * tests. Base units (seconds) as Prometheus and the metric names use. */
export function seconds(min: number, max: number): ValueParser<number> {
  const allowed = `a number of seconds from ${min} to ${max}`;
  return {
    allowed,
    parse(raw) {
      const n = numberFrom(raw, allowed);
      if (!Number.isFinite(n) || n < min || n > max) throw mismatch(allowed, raw);
      return n;
    },
  };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
};

/** A byte count: a plain integer or a number with a unit (64MiB, 500kB, 1G). */
export function byteSize(min: number, max: number): ValueParser<number> {
  const allowed = `a byte count from ${min} to ${max} (an integer, or with a unit: kB, MB, GB, KiB, MiB, GiB)`;
  return {
    allowed,
    parse(raw) {
      let n: number;
      if (raw.form === 'yaml' && typeof raw.value === 'number') {
        n = raw.value;
      } else if (typeof raw.value === 'string') {
        const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw.value);
        const unit = m ? BYTE_UNITS[m[2].toLowerCase()] : undefined;
        if (!m || unit === undefined) throw mismatch(allowed, raw);
        n = Number(m[1]) * unit;
      } else {
        throw mismatch(allowed, raw);
      }
      if (!Number.isInteger(n) || n < min || n > max) throw mismatch(allowed, raw);
      return n;
    },
  };
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

export function boolean(): ValueParser<boolean> {
  const allowed = 'true or false';
  return {
    allowed,
    parse(raw) {
      if (raw.form === 'yaml') {
        // YAML 1.2 reads `yes`/`on` as strings; accept them rather than surprise people who
        // learned YAML 1.1, but nothing vaguer than that.
        if (typeof raw.value === 'boolean') return raw.value;
        if (typeof raw.value !== 'string') throw mismatch(allowed, raw);
      }
      const word = String(raw.value).trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      throw mismatch(allowed, raw);
    },
  };
}

function stringFrom(raw: RawValue, allowed: string): string {
  if (typeof raw.value !== 'string') throw mismatch(allowed, raw);
  return raw.value.trim();
}

export function oneOf<T extends string>(choices: readonly T[]): ValueParser<T> {
  const allowed = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return {
    allowed,
    parse(raw) {
      const text = stringFrom(raw, allowed);
      const match = choices.find((c) => c === text.toLowerCase());
      if (match !== undefined) return match;
      const hint = suggest(text.toLowerCase(), choices);
      throw new ValueError(
        `must be ${allowed}, got ${show(raw)}${hint ? ` (did you mean "${hint}"?)` : ''}`,
      );
    },
  };
}

/** A file-system path, made absolute against baseDir so the running process does not depend
 * on its working directory. */
/** A command line, split on whitespace when run (no shell: nothing is expanded). */
export function commandLine(): ValueParser<string> {
  const allowed = 'a command line';
  return {
    allowed,
    parse(raw) {
      const text = stringFrom(raw, allowed).trim();
      if (text === '' || text.includes('\0')) throw mismatch(allowed, raw);
      return text;
    },
  };
}

export function filePath(): ValueParser<string> {
  const allowed = 'a file path';
  return {
    allowed,
    parse(raw, baseDir) {
      const text = stringFrom(raw, allowed);
      if (text === '' || text.includes('\0')) throw mismatch(allowed, raw);
      return path.resolve(baseDir, text);
    },
  };
}

export interface ListenAddress {
  /** '' means every address. */
  host: string;
  port: number;
}

export function listenAddress(): ValueParser<ListenAddress> {
  const allowed = 'HOST:PORT, [IPV6]:PORT or :PORT (port 1-65535)';
  return {
    allowed,
    parse(raw) {
      const text = raw.form === 'yaml' && typeof raw.value === 'number' ? `:${raw.value}` : stringFrom(raw, allowed);
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(text);
      const port = m ? Number(m[3]) : 0;
      if (!m || port < 1 || port > 65535) throw mismatch(allowed, raw);
      return { host: m[1] ?? m[2] ?? '', port };
    },
  };
}

export const XDP_MODES = ['native', 'generic'] as const;
export type XdpMode = (typeof XDP_MODES)[number];

export interface InterfaceSetting {
  name: string;
  xdpMode: XdpMode;
  /** Network namespace file (e.g. /run/netns/dns) holding the interface; only the bpfman
   * loader needs it, because bpfman attaches from its own namespace. */
  netns?: string;
}

const IFACE_KEYS = ['name', 'xdp_mode', 'netns'];

function interfaceName(value: unknown, at: Array<string | number>): string {
  // Linux: at most IFNAMSIZ-1 = 15 bytes, no '/', no whitespace, not "." or "..".
  if (typeof value !== 'string' || !/^[^\s/:]{1,15}$/.test(value) || value === '.' || value === '..') {
    throw new ValueError(
      `interface name must be 1 to 15 characters without "/", ":" or spaces, got ${JSON.stringify(value)}`,
      at,
    );
  }
  return value;
}

const xdpModeParser = oneOf(XDP_MODES);

function parseInterfaceText(text: string, at: Array<string | number>): InterfaceSetting {
  const [name, mode, ...rest] = text.trim().split(':');
  if (rest.length > 0) {
    throw new ValueError(`interface must be NAME or NAME:MODE, got ${JSON.stringify(text)}`, at);
  }
  const iface: InterfaceSetting = { name: interfaceName(name, at), xdpMode: 'native' };
  if (mode !== undefined) {
    try {
      iface.xdpMode = xdpModeParser.parse({ form: 'text', value: mode }, '');
    } catch (e) {
      throw new ValueError(`XDP mode ${(e as Error).message}`, at);
    }
  }
  return iface;
}

function parseInterfaceMap(
  item: Record<string, unknown>,
  at: Array<string | number>,
  baseDir: string,
): InterfaceSetting {
  for (const key of Object.keys(item)) {
    if (!IFACE_KEYS.includes(key)) {
      const hint = suggest(key, IFACE_KEYS);
      throw new ValueError(
        `unknown key "${key}" in an interface; allowed: ${IFACE_KEYS.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`,
        [...at, key],
      );
    }
  }
  const iface: InterfaceSetting = { name: interfaceName(item.name, [...at, 'name']), xdpMode: 'native' };
  if (item.xdp_mode !== undefined) {
    try {
      iface.xdpMode = xdpModeParser.parse({ form: 'yaml', value: item.xdp_mode }, baseDir);
    } catch (e) {
      throw new ValueError(`xdp_mode ${(e as Error).message}`, [...at, 'xdp_mode']);
    }
  }
  if (item.netns !== undefined) {
    if (typeof item.netns !== 'string' || item.netns.trim() === '') {
      throw new ValueError(`netns must be the path of a network namespace file, got ${JSON.stringify(item.netns)}`, [
        ...at,
        'netns',
      ]);
    }
    iface.netns = path.resolve(baseDir, item.netns.trim());
  }
  return iface;
}

/**
 * Interfaces to attach to. YAML: a list whose items are "eth0", "eth0:generic" or
 * {name, xdp_mode, netns}. Text: a comma-separated list of NAME[:MODE].
 */
export function interfaceList(): ValueParser<InterfaceSetting[]> {
  const allowed = 'a list of interfaces: NAME, NAME:MODE (MODE native or generic), or {name, xdp_mode, netns}';
  return {
    allowed,
    parse(raw, baseDir) {
      let list: InterfaceSetting[];
      if (raw.form === 'text') {
        const parts = raw.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
        list = parts.map((p, i) => parseInterfaceText(p, [i]));
      } else if (Array.isArray(raw.value)) {
        list = raw.value.map((item: unknown, i) => {
          if (typeof item === 'string') return parseInterfaceText(item, [i]);
          if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
            return parseInterfaceMap(item as Record<string, unknown>, [i], baseDir);
          }
          throw new ValueError(`each interface must be NAME, NAME:MODE or a map, got ${show({ form: 'yaml', value: item })}`, [i]);
        });
      } else {
        throw mismatch(allowed, raw);
      }
      const seen = new Set<string>();
      list.forEach((iface, i) => {
        const id = `${iface.netns ?? ''}\0${iface.name}`;
        if (seen.has(id)) throw new ValueError(`interface "${iface.name}" is listed twice`, [i]);
        seen.add(id);
      });
      return list;
    },
  };
}

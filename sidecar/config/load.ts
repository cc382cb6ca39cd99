/**
 * Builds the effective configuration from its layers, lowest first: defaults, the YAML file,
 * SANTA_* environment variables, command-line flags. Pure: the caller reads the file and hands
 * over its text, the environment and the parsed flags. Every problem is collected (not just the
 * first) and reported with the key, where the value came from (file:line:col, variable, flag)
 * and what is allowed.
 */
import * as path from 'node:path';
import { LineCounter, isCollection, isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import {
  ENV_NOT_SETTINGS,
  SECTIONS,
  SETTINGS,
  SETTINGS_BY_KEY,
  emptyConfig,
  envName,
  flagName,
  type SantaConfig,
  type SettingSpec,
} from './schema';
import { suggest } from './suggest';
import { ValueError, type RawValue } from './values';

export interface ConfigIssue {
  /** Where the offending value is: file:line:col, "env SANTA_X", "flag --x" or "default". */
  where: string;
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(['invalid configuration:', ...issues.map(formatIssue)].join('\n  '));
    this.name = 'ConfigError';
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.where}: ${issue.key ? `${issue.key}: ` : ''}${issue.message}`;
}

export interface ConfigFlag {
  /** The setting's dotted key (cache.max_entries); use flagName(key) to register the flag. */
  key: string;
  value: string;
}

export interface ConfigSources {
  yaml?: { file: string; text: string };
  env?: Readonly<Record<string, string | undefined>>;
  flags?: ReadonlyArray<ConfigFlag>;
  /** Base for relative paths given by environment or flags. */
  cwd: string;
  /** `santa run` and `santa detach` need interfaces; `santa status` does not. Default true. */
  requireInterfaces?: boolean;
  /** Only `santa run` reads queries: other commands need no queries.path. Default true. */
  requireQuerySource?: boolean;
}

export interface ResolvedConfig {
  config: SantaConfig;
  /** For each setting key, where its value came from (for the start-up log). */
  origins: Record<string, string>;
}

interface Assigned {
  value: unknown;
  where: string;
}

export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const assigned = new Map<string, Assigned>();
  for (const spec of SETTINGS) {
    if (spec.default !== undefined) assigned.set(spec.key, { value: spec.default, where: 'default' });
  }

  const fileReadable = sources.yaml ? readYaml(sources.yaml.file, sources.yaml.text, assigned, issues) : true;
  if (sources.env) readEnv(sources.env, sources.cwd, assigned, issues);
  for (const flag of sources.flags ?? []) readFlag(flag, sources.cwd, assigned, issues);

  const config = emptyConfig();
  for (const spec of SETTINGS) {
    const a = assigned.get(spec.key);
    if (a !== undefined) spec.assign(config, a.value);
  }
  const origins = Object.fromEntries([...assigned].map(([k, a]) => [k, a.where]));
  // A rule over a setting that already failed would only repeat the same problem.
  const failed = new Set(issues.map((i) => i.key.split(/[.[]/)[0]));
  // Nothing of an unreadable file was applied: rules over its settings would mislead.
  if (fileReadable) crossCheck(config, origins, sources.requireInterfaces ?? true, sources.requireQuerySource ?? true, failed, issues);

  if (issues.length > 0) throw new ConfigError(issues);
  return { config, origins };
}

function parseInto(
  spec: SettingSpec,
  raw: RawValue,
  baseDir: string,
  where: string,
  assigned: Map<string, Assigned>,
  issues: ConfigIssue[],
  locate: (at: ReadonlyArray<string | number>) => string = () => where,
): void {
  try {
    assigned.set(spec.key, { value: spec.parser.parse(raw, baseDir), where });
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    const key = spec.key + e.at.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
    issues.push({ where: locate(e.at), key, message: e.message });
  }
}

// ---- YAML ----------------------------------------------------------------------------------

/** Applies the file's settings; false when the file as a whole could not be read as settings. */
function readYaml(file: string, text: string, assigned: Map<string, Assigned>, issues: ConfigIssue[]): boolean {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      issues.push({ where: at(err.pos[0]), key: '', message: `YAML syntax: ${err.message.split('\n')[0]}` });
    }
    return false;
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return true; // an empty file sets nothing
  if (!isMap(root)) {
    issues.push({ where: at(root.range?.[0] ?? 0), key: '', message: 'the file must be a map of settings (key: value)' });
    return false;
  }
  walkMap(root, '', { file, baseDir: path.dirname(path.resolve(file)), at, assigned, issues });
  return true;
}

interface WalkContext {
  file: string;
  baseDir: string;
  at: (offset: number) => string;
  assigned: Map<string, Assigned>;
  issues: ConfigIssue[];
}

function childKeys(prefix: string): string[] {
  const keys = new Set<string>();
  for (const k of [...SETTINGS_BY_KEY.keys(), ...SECTIONS]) {
    if (prefix === '' ? !k.includes('.') : k.startsWith(prefix + '.') && !k.slice(prefix.length + 1).includes('.')) {
      keys.add(prefix === '' ? k : k.slice(prefix.length + 1));
    }
  }
  return [...keys];
}

function unknownKeyMessage(name: string, prefix: string): string {
  const siblings = childKeys(prefix);
  let hint = suggest(name, siblings);
  if (hint === undefined) {
    // A known key in the wrong section, e.g. max_entries at the top level.
    const elsewhere = [...SETTINGS_BY_KEY.keys()].filter((k) => k.split('.').pop() === name);
    if (elsewhere.length === 1) return `unknown key; "${name}" belongs under ${elsewhere[0]}`;
  } else if (prefix !== '') {
    hint = `${prefix}.${hint}`;
  }
  const where = prefix === '' ? 'at the top level' : `in ${prefix}`;
  return `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed ${where}: ${siblings.join(', ')}`;
}

function walkMap(map: YAMLMap, prefix: string, ctx: WalkContext): void {
  for (const pair of map.items) {
    const keyNode = pair.key as Node | null;
    const offset = keyNode?.range?.[0] ?? map.range?.[0] ?? 0;
    if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
      ctx.issues.push({ where: ctx.at(offset), key: prefix, message: 'keys must be plain words' });
      continue;
    }
    const name = String(keyNode.value);
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const valueNode = pair.value as Node | null;
    const spec = SETTINGS_BY_KEY.get(key);
    if (spec !== undefined) {
      readYamlSetting(spec, valueNode, offset, ctx);
    } else if (SECTIONS.has(key)) {
      if (isMap(valueNode)) {
        walkMap(valueNode, key, ctx);
      } else {
        ctx.issues.push({
          where: ctx.at(valueNode?.range?.[0] ?? offset),
          key,
          message: `must be a map with the keys ${childKeys(key).join(', ')}`,
        });
      }
    } else {
      ctx.issues.push({ where: ctx.at(offset), key, message: unknownKeyMessage(name, prefix) });
    }
  }
}

function readYamlSetting(spec: SettingSpec, valueNode: Node | null, keyOffset: number, ctx: WalkContext): void {
  const valueOffset = valueNode?.range?.[0] ?? keyOffset;
  const where = ctx.at(valueOffset);
  const value = valueNode === null ? null : valueNode.toJSON();
  if (value === null && spec.default === undefined && !spec.required) {
    ctx.assigned.delete(spec.key); // `key:` with nothing after it leaves an optional setting unset
    return;
  }
  const locate = (at: ReadonlyArray<string | number>) => {
    const node = at.length > 0 && isCollection(valueNode) ? (valueNode.getIn(at, true) as Node | undefined) : undefined;
    return ctx.at(node?.range?.[0] ?? valueOffset);
  };
  parseInto(spec, { form: 'yaml', value }, ctx.baseDir, where, ctx.assigned, ctx.issues, locate);
}

// ---- environment and flags -------------------------------------------------------------------

const SETTING_BY_ENV: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((s) => [envName(s.key), s]));

function readEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  assigned: Map<string, Assigned>,
  issues: ConfigIssue[],
): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SANTA_') || ENV_NOT_SETTINGS.has(name)) continue;
    // Unset-by-emptiness is how container environments usually switch a variable off.
    if (value === undefined || value === '') continue;
    const spec = SETTING_BY_ENV.get(name);
    if (spec === undefined) {
      const hint = suggest(name, [...SETTING_BY_ENV.keys(), ...ENV_NOT_SETTINGS]);
      issues.push({
        where: `env ${name}`,
        key: '',
        message: `unknown environment variable${hint ? ` (did you mean ${hint}?)` : ''}; Santa reads ${[
          ...SETTING_BY_ENV.keys(),
          ...ENV_NOT_SETTINGS,
        ].join(', ')}`,
      });
      continue;
    }
    parseInto(spec, { form: 'text', value }, cwd, `env ${name}`, assigned, issues);
  }
}

function readFlag(flag: ConfigFlag, cwd: string, assigned: Map<string, Assigned>, issues: ConfigIssue[]): void {
  const spec = SETTINGS_BY_KEY.get(flag.key);
  if (spec === undefined) {
    const hint = suggest(flag.key, SETTINGS_BY_KEY.keys());
    issues.push({
      where: `flag ${flagName(flag.key)}`,
      key: flag.key,
      message: `unknown setting${hint ? ` (did you mean ${flagName(hint)}?)` : ''}`,
    });
    return;
  }
  parseInto(spec, { form: 'text', value: flag.value }, cwd, `flag ${flagName(flag.key)}`, assigned, issues);
}

// ---- rules that involve more than one setting -------------------------------------------------

function crossCheck(
  config: SantaConfig,
  origins: Record<string, string>,
  requireInterfaces: boolean,
  requireQuerySource: boolean,
  failed: ReadonlySet<string>,
  issues: ConfigIssue[],
): void {
  const from = (key: string) => origins[key] ?? 'default';
  const ok = (...keys: string[]) => keys.every((k) => !failed.has(k.split('.')[0]));
  if (requireInterfaces && ok('interfaces') && config.interfaces.length === 0) {
    issues.push({
      where: from('interfaces'),
      key: 'interfaces',
      message: `at least one interface is required (YAML interfaces, ${envName('interfaces')} or ${flagName('interfaces')})`,
    });
  }
  if (requireQuerySource && ok('queries') && config.queries.source !== 'none' && config.queries.path === undefined) {
    issues.push({
      where: from('queries.source'),
      key: 'queries.path',
      message: `is required when queries.source is "${config.queries.source}" (or set queries.source to "none")`,
    });
  }
  // Leases are renewed once per ranking round; one late round must not let them lapse.
  if (ok('cache', 'ranking') && config.cache.leaseSeconds < 2 * config.ranking.intervalSeconds) {
    issues.push({
      where: from('cache.lease_seconds'),
      key: 'cache.lease_seconds',
      message:
        `must be at least twice ranking.interval_seconds (${config.ranking.intervalSeconds}, from ${from('ranking.interval_seconds')}) ` +
        `so entries are renewed before they lapse; got ${config.cache.leaseSeconds}`,
    });
  }
  if (config.loader === 'bpfman' && ok('interfaces', 'loader')) {
    config.interfaces.forEach((iface, i) => {
      if (iface.xdpMode === 'generic') {
        issues.push({
          where: from('interfaces'),
          key: `interfaces[${i}].xdp_mode`,
          message:
            `the bpfman loader cannot choose the XDP mode: bpfman takes it from its bpfman.toml ` +
            `([interfaces.${iface.name}] xdp_mode = "skb"); leave xdp_mode out here`,
        });
      }
    });
  }
  if (config.loader === 'native') {
    config.interfaces.forEach((iface, i) => {
      if (iface.netns !== undefined) {
        issues.push({
          where: from('interfaces'),
          key: `interfaces[${i}].netns`,
          message: 'only the bpfman loader attaches in another network namespace; with loader "native" run Santa inside that namespace',
        });
      }
    });
  }
}

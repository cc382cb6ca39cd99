/**
 * The configuration of `santa run`: public entry points. The only I/O here is reading the YAML
 * file; everything else is resolveConfig, a pure function of its inputs.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, resolveConfig, type ConfigFlag, type ResolvedConfig } from './load';
import { SETTINGS, envName, flagName, type SettingSpec } from './schema';

export { ConfigError, formatIssue, resolveConfig } from './load';
export type { ConfigFlag, ConfigIssue, ConfigSources, ResolvedConfig } from './load';
export { SETTINGS, envName, flagName } from './schema';
export type { InterfaceSetting, ListenAddress, LoaderKind, LogLevel, Mode, QuerySource, SantaConfig, XdpMode } from './schema';

export interface LoadOptions {
  /** YAML file; falls back to SANTA_CONFIG. No file means defaults, environment and flags only. */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
  flags?: ReadonlyArray<ConfigFlag>;
  cwd?: string;
  requireInterfaces?: boolean;
  requireQuerySource?: boolean;
}

export async function loadConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.SANTA_CONFIG || undefined);
  let yaml: { file: string; text: string } | undefined;
  if (file !== undefined) {
    try {
      yaml = { file, text: await readFile(file, 'utf8') };
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      throw new ConfigError([{ where: file, key: '', message: `cannot read the configuration file: ${reason}` }]);
    }
  }
  return resolveConfig({
    yaml,
    env,
    flags: options.flags,
    cwd: options.cwd ?? process.cwd(),
    requireInterfaces: options.requireInterfaces,
    requireQuerySource: options.requireQuerySource,
  });
}

export interface SettingHelp {
  key: string;
  env: string;
  flag: string;
  allowed: string;
  /** The default as a user would write it, or undefined when there is none. */
  default?: string;
  example?: string;
  required: boolean;
  help: string;
}

function defaultText(spec: SettingSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const d = spec.default;
  if (d === undefined) return undefined;
  return typeof d === 'string' ? d : JSON.stringify(d);
}

/** One row per setting, for --help, the CLI's flag registration and documentation. */
export function settingsHelp(): SettingHelp[] {
  return SETTINGS.map((s) => ({
    key: s.key,
    env: envName(s.key),
    flag: flagName(s.key),
    allowed: s.parser.allowed,
    default: defaultText(s),
    example: s.example,
    required: s.required ?? false,
    help: s.help,
  }));
}

/** The property name an options parser such as commander gives a setting's flag:
 * --cache-max-entries -> cacheMaxEntries. */
export function optionProperty(key: string): string {
  return flagName(key)
    .slice(2)
    .replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The settings among parsed command-line options (string values as typed), for loadConfig.
 * Properties that are not settings (--config, --help, ...) are ignored. */
export function configFlagsFrom(options: Readonly<Record<string, unknown>>): ConfigFlag[] {
  const flags: ConfigFlag[] = [];
  for (const s of SETTINGS) {
    const value = options[optionProperty(s.key)];
    if (value === undefined) continue;
    flags.push({ key: s.key, value: Array.isArray(value) ? value.join(',') : String(value) });
  }
  return flags;
}

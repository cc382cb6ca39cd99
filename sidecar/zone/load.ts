/**
 * Loads the zones a named.conf says Santa may answer for. Each zone stands alone: a zone whose
 * file does not parse is reported (file:line and why) and left to BIND, and the others load.
 */
import { NamedConf, ZoneConfig } from '../named-conf/read';
import { Zone } from './model';
import { parseZoneFile, ZoneParseError } from './parse';

export interface ZoneLoadFailure {
  zone: ZoneConfig;
  /** "file:line: reason" from the parser, or the I/O error. */
  message: string;
  file?: string;
  line?: number;
}

export interface LoadedZones {
  /** By zone name (lower case, no trailing dot, as in ZoneConfig.name). */
  zones: Map<string, { config: ZoneConfig; zone: Zone }>;
  failures: ZoneLoadFailure[];
  /** Zones named.conf has that Santa does not answer for from their file, with ZoneConfig.reason
   * (or fileUnreadable: a secondary's raw-format copy). */
  skipped: ZoneConfig[];
}

export function loadConfiguredZones(conf: NamedConf): LoadedZones {
  const result: LoadedZones = { zones: new Map(), failures: [], skipped: [] };
  for (const config of conf.zones) {
    if (!config.offloadable || config.file === undefined || config.fileUnreadable) {
      result.skipped.push(config);
      continue;
    }
    try {
      const zone = parseZoneFile(config.file, config.name, { includeBase: conf.options.directory });
      result.zones.set(config.name, { config, zone });
    } catch (e) {
      if (e instanceof ZoneParseError) result.failures.push({ zone: config, message: e.message, file: e.file, line: e.line });
      else result.failures.push({ zone: config, message: (e as Error).message });
    }
  }
  return result;
}

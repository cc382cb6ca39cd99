/**
 * Response rate limiting for what XDP answers: BIND's `rate-limit {}` from named.conf, applied
 * by the program (xdp/rrl.h) because BIND never sees those replies.
 */
import type { Logger } from 'pino';
import type { SantaAbi } from '../bpf/abi';
import type { SantaNative } from '../bpf/native';
import type { MapSource } from '../loader/loader';
import type { NamedConf } from '../named-conf/read';
import { formatPrefix } from '../named-conf/address-match';
import { rrlConfigFromStatement, rrlLimitsAnything, type RrlConfig } from './config';
import { kernelClock } from '../bpf/kernel-clock';
import { RrlMaps } from './maps';

export { rrlConfigFromStatement, rrlLimitsAnything, defaultRrlConfig, type RrlConfig, type RrlPrefix } from './config';
export { rrlIdentity, identityHash, RrlKind, type RrlIdentity } from './identity';
export { RrlModel, type RrlVerdict } from './model';
export { RrlMaps } from './maps';

/** The limits named.conf asks for, or null when it limits nothing. Throws NamedConfError. */
export function rateLimitFromConf(conf: NamedConf): RrlConfig | null {
  const { options } = conf;
  if (!options.rateLimitStatement) return null;
  const cfg = rrlConfigFromStatement(options.rateLimitStatement, conf.acls);
  return rrlLimitsAnything(cfg) ? cfg : null;
}

/**
 * Writes the program's RRL config from named.conf; always writes, so a restart without
 * rate-limit also turns off what a previous run left in pinned maps. Returns the open maps.
 */
export function applyRateLimit(conf: NamedConf, source: MapSource, bpf: SantaNative, abi: SantaAbi, log: Logger): RrlMaps {
  const cfg = rateLimitFromConf(conf);
  const maps = RrlMaps.open(source, bpf, abi);
  try {
    maps.writeConfig(cfg, cfg ? kernelClock(bpf, abi).hz : 0);
  } catch (e) {
    maps.close();
    throw e;
  }
  if (cfg) {
    const { notes, exemptClients, ...limits } = cfg;
    log.info({ ...limits, exemptClients: exemptClients.map(formatPrefix) }, 'rate-limit from named.conf applied to XDP answers');
    for (const note of notes) log.info({ note }, 'rate-limit');
  } else if (conf.options.rateLimitStatement) {
    log.info('rate-limit in named.conf limits nothing (no per-second rate set)');
  }
  return maps;
}

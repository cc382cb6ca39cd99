/**
 * The zone change guard on `lo` (santa_lo_guard): BIND's local clients (nsupdate -l, an ACME
 * client on 127.0.0.1) never cross the interfaces the XDP program watches, so `santa run` puts
 * the guard on lo of every namespace an interface is in, when the configuration and the loader
 * allow, and says so when they do not.
 */
import type { Logger } from 'pino';
import type { SantaConfig } from '../config';
import { namespacesOf, type Loader, type XdpTarget } from '../loader/loader';

/** Once per distinct namespace of `targets` (undefined: the loader's own). Throws, naming the
 * namespace and the way out, when the guard cannot be attached. */
export async function ensureLoopbackGuards(config: Pick<SantaConfig, 'loopbackGuard'>, loader: Loader, targets: readonly XdpTarget[], log: Logger): Promise<void> {
  if (!config.loopbackGuard) {
    log.warn('loopback_guard is off: an UPDATE or NOTIFY sent to BIND over loopback is noticed only by the serial polls (or bind.notify_listen)');
    return;
  }
  if (!loader.ensureLoopbackGuard) {
    log.warn({ loader: loader.kind }, 'this loader cannot attach the loopback guard: an UPDATE or NOTIFY sent to BIND over loopback is noticed only by the serial polls (or bind.notify_listen)');
    return;
  }
  for (const netns of namespacesOf(targets)) {
    let g;
    try {
      g = await loader.ensureLoopbackGuard(netns);
    } catch (e) {
      throw new Error(`cannot put the loopback zone change guard on lo${netns ? ` in ${netns}` : ''}: ${(e as Error).message} (loopback_guard: false runs without it, leaving updates sent to BIND over loopback to the serial polls)`);
    }
    log.info({ iface: 'lo', netns, programId: g.programId, adopted: g.adopted, replaced: g.replaced }, 'loopback zone change guard in place');
  }
}


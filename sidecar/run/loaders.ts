/** Builds the loader `santa run` and `santa detach` use, from the configuration. */
import type { SantaConfig } from '../config';
import { BpfmanClient } from '../loader/bpfman/client';
import { BpfmanLoader } from '../loader/bpfman/loader';
import type { Loader, XdpTarget } from '../loader/loader';
import { NativeLoader } from '../loader/native/native-loader';
import { santaAbi } from '../bpf/abi';

export function targetsOf(config: SantaConfig): XdpTarget[] {
  return config.interfaces.map((i) => ({ iface: i.name, xdpMode: i.xdpMode, netns: i.netns }));
}

export function createLoader(config: SantaConfig, objectPath: string): Loader {
  if (config.loader === 'native') {
    return new NativeLoader({ objectPath, pinDir: config.pinDir, maxEntries: config.cache.maxEntries, targets: targetsOf(config) });
  }
  const client = new BpfmanClient({ socketPath: config.bpfman.socket, timeoutMs: config.bpfman.timeoutSeconds * 1000 });
  return new BpfmanLoader({ client, objectPath, programName: santaAbi().progName, priority: config.bpfman.priority });
}

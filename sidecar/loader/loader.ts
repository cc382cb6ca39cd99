/**
 * What every loader does: put the Santa XDP program on an interface (or adopt the copy that is
 * already there after a restart), say where its maps are, and take it off again. The native
 * loader (libbpf through the binding) and the bpfman loader (gRPC) both implement this, so
 * everything above them is shared.
 */
import type { LoaderKind, XdpMode } from '../config';

export interface XdpTarget {
  iface: string;
  /** native (driver) or generic (skb). The bpfman loader cannot choose: bpfman takes the mode
   * from its own bpfman.toml ([interfaces.<name>] xdp_mode), defaulting to driver mode. */
  xdpMode: XdpMode;
  /** Network namespace file holding the interface, when it is not the loader's own. */
  netns?: string;
}

/** Where the program's maps can be opened. */
export type MapSource =
  /** A bpffs directory with one pinned file per map, named as in the C source. */
  | { kind: 'pinned'; dir: string }
  /** Already-open map descriptors by map name (owned by the loader until detach/close). */
  | { kind: 'fds'; fds: Readonly<Record<string, number>> };

export interface Attachment {
  target: XdpTarget;
  /** Kernel program id. */
  programId: number;
  maps: MapSource;
  /** True when an already attached program was found and taken over instead of loading. */
  adopted: boolean;
  /** True when an older program (different object) was replaced by the current one. */
  replaced: boolean;
  /** Loader-specific handle of the attachment (the bpfman link id). */
  linkId?: number;
}

export interface AttachmentInfo {
  iface: string;
  netns?: string;
  programId: number;
  linkId?: number;
  mapDir?: string;
  /** Loader-specific facts worth printing in `santa status` (object hash, bpfman priority...). */
  details: Record<string, string>;
}

export interface LoaderDescription {
  kind: LoaderKind;
  attachments: AttachmentInfo[];
}

/** The distinct network namespaces the targets are in (undefined: the loader's own): one
 * loopback device, and one loopback guard, each. */
export function namespacesOf(targets: readonly XdpTarget[]): Array<string | undefined> {
  return [...new Set(targets.map((t) => t.netns))];
}

/** The zone change guard's tc program on the loopback device of a network namespace. */
export interface GuardAttachment {
  /** The namespace file, or undefined for the loader's own namespace. */
  netns?: string;
  programId: number;
  adopted: boolean;
  replaced: boolean;
}

export interface Loader {
  readonly kind: LoaderKind;
  /** Makes sure Santa's program runs on the target: adopts the existing one if it is there
   * and current, otherwise loads and attaches. Idempotent. */
  ensure(target: XdpTarget): Promise<Attachment>;
  /** Takes Santa off the target and releases its program; true if anything was removed. */
  detach(target: XdpTarget): Promise<boolean>;
  /** Puts the zone change guard on `lo` of the namespace (or adopts it); loaders that cannot
   * leave these undefined. Idempotent. */
  ensureLoopbackGuard?(netns?: string): Promise<GuardAttachment>;
  /** Takes the guard off `lo` of the namespace; true if it was there. */
  detachLoopbackGuard?(netns?: string): Promise<boolean>;
  /** What is attached now, as the loader's backend reports it. */
  describe(): Promise<LoaderDescription>;
  /** Releases client resources; the program stays attached (leases expire on their own). */
  close(): Promise<void>;
}

/**
 * The bpfman loader: Santa's XDP program is loaded and attached by the bpfman daemon, which
 * chains it with other XDP programs on the same interface through its dispatcher.
 *
 * One bpfman program per interface, because bpfman does not report which interface a link is
 * on: the interface (and netns) is recorded in the program's metadata, which List can match.
 * The first program owns the maps; programs for further interfaces share them
 * (map_owner_id), so one cache serves every interface. After a restart, List finds the
 * programs by metadata and they are adopted; if the object file changed since (an upgrade),
 * the old program is replaced.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Attachment, Loader, LoaderDescription, XdpTarget } from '../loader';
import { KERNEL_PROG_TYPE_XDP, type BpfmanClient, type BpfmanProgram } from './client';

/** The client calls this loader uses (an interface so tests can observe the sequence). */
export type BpfmanApi = Pick<BpfmanClient, 'load' | 'attachXdp' | 'detach' | 'unload' | 'get' | 'list' | 'close'>;

/** Metadata keys on every program Santa loads through bpfman. */
export const META = {
  /** bpfman's conventional grouping key. */
  application: 'bpfman_application',
  instance: 'santa_instance',
  iface: 'santa_interface',
  netns: 'santa_netns',
  objectHash: 'santa_object_sha256',
} as const;

export const APPLICATION = 'santa';

export interface BpfmanLoaderOptions {
  client: BpfmanApi;
  /** Absolute path of santa.bpf.o as the bpfman server sees it. */
  objectPath: string;
  /** The XDP function's name in the C source. */
  programName: string;
  /** 1..1000, lower runs first in bpfman's dispatcher. */
  priority: number;
  /** Tells apart several Santa deployments served by one bpfman. */
  instance?: string;
  globalData?: Record<string, Uint8Array>;
  /** Reads the object file (for its hash); injectable for tests. */
  readObject?: (path: string) => Promise<Uint8Array>;
}

function sameTarget(program: BpfmanProgram, target: XdpTarget): boolean {
  return program.metadata[META.iface] === target.iface && (program.metadata[META.netns] ?? '') === (target.netns ?? '');
}

export class BpfmanLoader implements Loader {
  readonly kind = 'bpfman' as const;
  private objectHash: string | undefined;

  constructor(private readonly options: BpfmanLoaderOptions) {}

  private get instance(): string {
    return this.options.instance ?? 'default';
  }

  private async hash(): Promise<string> {
    if (this.objectHash === undefined) {
      const read = this.options.readObject ?? ((p: string) => readFile(p));
      const bytes = await read(this.options.objectPath);
      this.objectHash = createHash('sha256').update(bytes).digest('hex');
    }
    return this.objectHash;
  }

  /** Santa's programs of this instance, as bpfman knows them. */
  async programs(): Promise<BpfmanProgram[]> {
    const found = await this.options.client.list({
      programType: KERNEL_PROG_TYPE_XDP,
      metadata: { [META.application]: APPLICATION, [META.instance]: this.instance },
    });
    return found.sort((a, b) => a.id - b.id);
  }

  async ensure(target: XdpTarget): Promise<Attachment> {
    const client = this.options.client;
    const hash = await this.hash();
    const all = await this.programs();
    const mine = all.filter((p) => sameTarget(p, target));
    // A crash between Load and Attach, or two Santas racing, can leave more than one program
    // for a target. Keep the best (attached, current object), unload the rest.
    mine.sort((a, b) => rank(b, hash) - rank(a, hash) || a.id - b.id);
    const [keep, ...extra] = mine;
    for (const p of extra) await client.unload(p.id);

    let replaced = false;
    if (keep !== undefined) {
      if (keep.metadata[META.objectHash] === hash) {
        const current = await client.get(keep.id);
        const linkId = current.links.length > 0 ? current.links[0] : await this.attach(current.id, target);
        return {
          target,
          programId: current.id,
          maps: { kind: 'pinned', dir: current.mapPinPath },
          adopted: current.links.length > 0,
          replaced: false,
          linkId,
        };
      }
      // A different object (an upgrade): its maps may have another layout, so nothing of it
      // is kept. BIND answers everything until the new program's cache fills.
      await client.unload(keep.id);
      replaced = true;
    }

    const others = all.filter((p) => !mine.includes(p) && p.metadata[META.objectHash] === hash);
    const owner = others.length > 0 ? (others[0].mapOwnerId ?? others[0].id) : undefined;
    const program = await client.load({
      objectPath: this.options.objectPath,
      programName: this.options.programName,
      metadata: {
        [META.application]: APPLICATION,
        [META.instance]: this.instance,
        [META.iface]: target.iface,
        [META.netns]: target.netns ?? '',
        [META.objectHash]: hash,
      },
      globalData: this.options.globalData,
      mapOwnerId: owner,
    });
    let linkId: number;
    try {
      linkId = await this.attach(program.id, target);
    } catch (e) {
      // Leave nothing half-done behind: an unattached program would only be adopted later.
      await client.unload(program.id).catch(() => undefined);
      throw e;
    }
    return {
      target,
      programId: program.id,
      maps: { kind: 'pinned', dir: program.mapPinPath },
      adopted: false,
      replaced,
      linkId,
    };
  }

  private attach(programId: number, target: XdpTarget): Promise<number> {
    return this.options.client.attachXdp(programId, {
      iface: target.iface,
      priority: this.options.priority,
      netns: target.netns,
      metadata: { [META.application]: APPLICATION, [META.instance]: this.instance },
    });
  }

  async detach(target: XdpTarget): Promise<boolean> {
    const mine = (await this.programs()).filter((p) => sameTarget(p, target));
    // Unload detaches the links too; maps shared with other interfaces stay while in use.
    for (const p of mine) await this.options.client.unload(p.id);
    return mine.length > 0;
  }

  async describe(): Promise<LoaderDescription> {
    const programs = await this.programs();
    return {
      kind: 'bpfman',
      attachments: programs.map((p) => ({
        iface: p.metadata[META.iface] ?? '?',
        netns: p.metadata[META.netns] || undefined,
        programId: p.id,
        linkId: p.links[0],
        mapDir: p.mapPinPath,
        details: {
          links: p.links.join(',') || 'none',
          object_sha256: (p.metadata[META.objectHash] ?? '').slice(0, 16),
          map_owner: String(p.mapOwnerId ?? p.id),
          loaded_at: p.loadedAt,
          priority: String(this.options.priority),
        },
      })),
    };
  }

  async close(): Promise<void> {
    this.options.client.close();
  }
}

/** Preference among duplicate programs for one target: attached beats unattached, current
 * object beats old. */
function rank(p: BpfmanProgram, hash: string): number {
  return (p.links.length > 0 ? 2 : 0) + (p.metadata[META.objectHash] === hash ? 1 : 0);
}

/**
 * The native loader: Santa loads its XDP program itself through libbpf (the binding) and keeps
 * everything that must outlive the process in a bpffs directory of its own:
 *
 *   <pinDir>/santa_entries ... santa_stats    the maps, shared by every interface
 *   <pinDir>/prog-<sha256 of the object>      the program built from that exact object file
 *   <pinDir>/guard-<sha256 of the object>     its zone change guard for the loopback device
 *
 * XDP attachments made through netlink stay on the interface when the process exits, so on
 * restart the program is normally still running: if the interface runs the program pinned for
 * the current object, it is adopted as it is. If the object changed (an upgrade), the new program
 * is loaded on the same pinned maps (the cache survives) and atomically replaces the old one.
 * A program that is not Santa's is never replaced. The loopback guard (a tc ingress filter on
 * `lo` in its own slot, santa_abi.h) is kept the same way.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { entrySlotsFor, filterWordsFor, indexGroupsFor, santaAbi, santaMapNames, type SantaAbi } from '../../bpf/abi';
import { isBpfError, loadNative, type SantaNative } from '../../bpf/native';
import { namespacesOf, type Attachment, type AttachmentInfo, type GuardAttachment, type Loader, type LoaderDescription, type XdpTarget } from '../loader';

export interface NativeLoaderOptions {
  objectPath: string;
  /** bpffs directory of this Santa instance (must be on a bpffs mount). */
  pinDir: string;
  /** Cache capacity: max_entries of every cache tier and of the hit-counter array. */
  maxEntries: number;
  /** Interfaces this instance manages, for describe(). */
  targets: readonly XdpTarget[];
  bpf?: SantaNative;
  abi?: SantaAbi;
}

const PROG_PIN_PREFIX = 'prog-';
const GUARD_PIN_PREFIX = 'guard-';
const LOOPBACK = 'lo';

export class NativeLoader implements Loader {
  readonly kind = 'native' as const;
  private readonly bpf: SantaNative;
  private readonly abi: SantaAbi;
  private readonly objectHash: string;
  /** The loaded-or-adopted program, shared by every target of this run. */
  private program: { fd: number; id: number; objectId?: number } | undefined;
  /** The loopback guard from the same object (and so on the same maps). */
  private guard: { fd: number; id: number; objectId?: number } | undefined;

  constructor(private readonly options: NativeLoaderOptions) {
    this.bpf = options.bpf ?? loadNative();
    this.abi = options.abi ?? santaAbi();
    this.objectHash = createHash('sha256').update(readFileSync(options.objectPath)).digest('hex').slice(0, 16);
  }

  private get progPin(): string {
    return join(this.options.pinDir, PROG_PIN_PREFIX + this.objectHash);
  }

  private get guardPin(): string {
    return join(this.options.pinDir, GUARD_PIN_PREFIX + this.objectHash);
  }

  private get guardSlot() {
    return { handle: this.abi.loopbackGuard.tcHandle, priority: this.abi.loopbackGuard.tcPriority };
  }

  async ensure(target: XdpTarget): Promise<Attachment> {
    const attached = this.bpf.queryXdp(target.iface, target.netns);
    const attachedId = attached ? this.modeProgId(attached, target) : 0;
    const current = this.currentProgram();
    const maps = { kind: 'pinned' as const, dir: this.options.pinDir };
    if (current && attachedId === current.id) {
      return { target, programId: current.id, maps, adopted: true, replaced: false };
    }
    if (attachedId !== 0 && !this.isSantaProgram(attachedId)) {
      throw new Error(
        `${describeTarget(target)} already runs XDP program id ${attachedId}, which is not Santa's; ` +
          'detach it first (Santa never replaces a program it did not load)',
      );
    }
    const program = current ?? this.loadProgram();
    if (attachedId === 0) {
      this.bpf.attachXdp(program.fd, target.iface, target.xdpMode, target.netns);
    } else {
      // Replace exactly the program we inspected: if anything else was attached meanwhile, the
      // kernel refuses (EEXIST) instead of us removing a program that is not ours.
      this.withProgFd(attachedId, (expectedProgFd) => this.bpf.attachXdp(program.fd, target.iface, target.xdpMode, target.netns, { expectedProgFd }));
    }
    this.removeStalePins();
    return { target, programId: program.id, maps, adopted: false, replaced: attachedId !== 0 };
  }

  private withProgFd<T>(progId: number, use: (fd: number) => T): T {
    const fd = this.bpf.progGetFdById(progId);
    try {
      return use(fd);
    } finally {
      this.bpf.closeFd(fd);
    }
  }

  async detach(target: XdpTarget): Promise<boolean> {
    const attached = this.bpf.queryXdp(target.iface, target.netns);
    const attachedId = attached ? this.modeProgId(attached, target) : 0;
    if (attachedId === 0) return false;
    if (!this.isSantaProgram(attachedId)) {
      throw new Error(`${describeTarget(target)} runs XDP program id ${attachedId}, which is not Santa's: left in place`);
    }
    this.withProgFd(attachedId, (expectedProgFd) => this.bpf.detachXdp(target.iface, target.xdpMode, target.netns, { expectedProgFd }));
    return true;
  }

  async ensureLoopbackGuard(netns?: string): Promise<GuardAttachment> {
    const slot = this.guardSlot;
    const attached = this.guardSlotHolder(netns);
    const guard = this.currentGuard();
    if (attached.id === guard.id) return { netns, programId: guard.id, adopted: true, replaced: false };
    if (attached.id !== 0 && !attached.isGuard) {
      throw new Error(
        `${describeTarget({ iface: LOOPBACK, netns })} has tc ingress program id ${attached.id} in Santa's slot ` +
          `(handle ${slot.handle}, priority ${slot.priority}), which is not Santa's guard; remove it first`,
      );
    }
    this.bpf.attachTcIngress(guard.fd, LOOPBACK, netns, { ...slot, replace: attached.id !== 0 });
    this.removeStalePins();
    return { netns, programId: guard.id, adopted: false, replaced: attached.id !== 0 };
  }

  async detachLoopbackGuard(netns?: string): Promise<boolean> {
    const attached = this.guardSlotHolder(netns);
    if (attached.id === 0) return false;
    if (!attached.isGuard) {
      throw new Error(`${describeTarget({ iface: LOOPBACK, netns })} has tc ingress program id ${attached.id} in Santa's slot, which is not Santa's guard: left in place`);
    }
    this.bpf.detachTcIngress(LOOPBACK, netns, this.guardSlot);
    return true;
  }

  /** The program in the guard's tc slot on lo of the namespace (id 0: none), and whether it is
   * a Santa guard (of any object version). */
  private guardSlotHolder(netns: string | undefined): { id: number; isGuard: boolean } {
    const id = this.bpf.queryTcIngress(LOOPBACK, netns, this.guardSlot);
    return { id, isGuard: id !== 0 && this.isProgramNamed(id, this.abi.loopbackGuard.progName) };
  }

  /** Removes every pin of this instance: the programs and the maps (and so the cache). */
  purge(): void {
    if (!existsSync(this.options.pinDir)) return;
    for (const name of readdirSync(this.options.pinDir)) {
      if (name.startsWith(PROG_PIN_PREFIX) || name.startsWith(GUARD_PIN_PREFIX) || santaMapNames(this.abi).includes(name)) unlinkSync(join(this.options.pinDir, name));
    }
  }

  async describe(): Promise<LoaderDescription> {
    const attachments: AttachmentInfo[] = [];
    for (const target of this.options.targets) {
      const attached = this.bpf.queryXdp(target.iface, target.netns);
      const id = attached ? this.modeProgId(attached, target) : 0;
      if (id === 0 || !this.isSantaProgram(id)) continue;
      attachments.push({
        iface: target.iface,
        netns: target.netns,
        programId: id,
        mapDir: this.options.pinDir,
        details: { mode: target.xdpMode, object: this.objectHash, current: String(this.currentProgram()?.id === id) },
      });
    }
    for (const netns of namespacesOf(this.options.targets)) {
      const { id, isGuard } = this.guardSlotHolder(netns);
      if (!isGuard) continue;
      attachments.push({ iface: LOOPBACK, netns, programId: id, mapDir: this.options.pinDir, details: { hook: 'tc ingress (loopback zone change guard)', object: this.objectHash } });
    }
    return { kind: 'native', attachments };
  }

  async close(): Promise<void> {
    // The objects (or adopted fds) can go: the attachments and the pins keep the programs alive.
    const closed = new Set<number>();
    for (const p of [this.program, this.guard]) {
      if (!p) continue;
      if (p.objectId === undefined) this.bpf.closeFd(p.fd);
      else if (!closed.has(p.objectId)) {
        closed.add(p.objectId);
        this.bpf.closeObject(p.objectId);
      }
    }
    this.program = undefined;
    this.guard = undefined;
  }

  private modeProgId(attached: NonNullable<ReturnType<SantaNative['queryXdp']>>, target: XdpTarget): number {
    return target.xdpMode === 'generic' ? attached.genericProgId : attached.nativeProgId;
  }

  /** The program pinned for this very object file, if it exists. */
  private currentProgram(): { fd: number; id: number } | undefined {
    if (this.program) return this.program;
    if (!existsSync(this.progPin)) return undefined;
    const fd = this.bpf.objGet(this.progPin);
    this.program = { fd, id: this.bpf.progInfo(fd).id };
    return this.program;
  }

  /** The guard pinned for this object; else loaded from it, on the pinned maps (a pin
   * directory from before the guard existed holds only the answer program). */
  private currentGuard(): { fd: number; id: number } {
    if (this.guard) return this.guard;
    if (!this.currentProgram()) this.loadProgram();
    if (this.guard) return this.guard;
    if (existsSync(this.guardPin)) {
      const fd = this.bpf.objGet(this.guardPin);
      this.guard = { fd, id: this.bpf.progInfo(fd).id };
      return this.guard;
    }
    const object = this.loadObject();
    const fd = object.progs[this.abi.loopbackGuard.progName];
    if (fd === undefined) {
      this.bpf.closeObject(object.id);
      throw new Error(`${this.options.objectPath} has no program ${this.abi.loopbackGuard.progName}`);
    }
    this.bpf.pinObject(fd, this.guardPin);
    this.guard = { fd, id: this.bpf.progInfo(fd).id, objectId: object.id };
    return this.guard;
  }

  private isSantaProgram(progId: number): boolean {
    return this.isProgramNamed(progId, this.abi.progName);
  }

  private isProgramNamed(progId: number, name: string): boolean {
    return this.withProgFd(progId, (fd) => this.bpf.progInfo(fd).name === name);
  }

  /** Loads the object on this instance's pinned maps (created on first load). */
  private loadObject() {
    mkdirSync(this.options.pinDir, { recursive: true });
    const mapMaxEntries: Record<string, number> = {
      [this.abi.maps.hits]: this.options.maxEntries,
      [this.abi.maps.entries]: entrySlotsFor(this.options.maxEntries),
      [this.abi.maps.index]: indexGroupsFor(entrySlotsFor(this.options.maxEntries), this.abi),
      [this.abi.maps.filter]: filterWordsFor(this.options.maxEntries, this.abi),
    };
    const load = () => this.bpf.loadObject(this.options.objectPath, { pinMaps: this.options.pinDir, mapMaxEntries });
    try {
      return load();
    } catch (e) {
      // Pinned maps of another layout or capacity cannot be reused; the cache is rebuilt anyway.
      if (!isBpfError(e) || !existsSync(join(this.options.pinDir, this.abi.maps.settings))) throw e;
      for (const name of santaMapNames(this.abi)) {
        const pin = join(this.options.pinDir, name);
        if (existsSync(pin)) unlinkSync(pin);
      }
      return load();
    }
  }

  /** Loads the object and pins both of its programs: they share its maps. */
  private loadProgram(): { fd: number; id: number; objectId: number } {
    const object = this.loadObject();
    const fd = object.progs[this.abi.progName];
    if (fd === undefined) throw new Error(`${this.options.objectPath} has no program ${this.abi.progName}`);
    if (existsSync(this.progPin)) unlinkSync(this.progPin);
    this.bpf.pinObject(fd, this.progPin);
    this.program = { fd, id: this.bpf.progInfo(fd).id, objectId: object.id };
    const guardFd = object.progs[this.abi.loopbackGuard.progName];
    if (guardFd !== undefined) {
      if (existsSync(this.guardPin)) unlinkSync(this.guardPin);
      this.bpf.pinObject(guardFd, this.guardPin);
      this.guard = { fd: guardFd, id: this.bpf.progInfo(guardFd).id, objectId: object.id };
    }
    return this.program as { fd: number; id: number; objectId: number };
  }

  /** Pins of programs from other object files (an upgrade replaced them). */
  private removeStalePins(): void {
    for (const name of readdirSync(this.options.pinDir)) {
      const path = join(this.options.pinDir, name);
      if ((name.startsWith(PROG_PIN_PREFIX) && path !== this.progPin) || (name.startsWith(GUARD_PIN_PREFIX) && path !== this.guardPin)) unlinkSync(path);
    }
  }
}

function describeTarget(target: Pick<XdpTarget, 'iface' | 'netns'>): string {
  return target.netns ? `interface ${target.iface} in ${target.netns}` : `interface ${target.iface}`;
}

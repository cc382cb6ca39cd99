/**
 * A typed client for bpfman v0.6.0's gRPC API (bpfman.proto beside this file) over its Unix
 * socket. Each call has a deadline; every failure becomes a BpfmanError carrying bpfman's own
 * message (bpfman reports all failures as ABORTED with text, so the text is what matters).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const DEFAULT_BPFMAN_SOCKET = '/run/bpfman-sock/bpfman.sock';

/** Kernel program type numbering used by ListRequest.program_type (enum bpf_prog_type). */
export const KERNEL_PROG_TYPE_XDP = 6;

export class BpfmanError extends Error {
  constructor(
    readonly method: string,
    /** gRPC status code (grpc.status). */
    readonly code: number,
    /** bpfman's message, verbatim. */
    readonly details: string,
    socketPath: string,
  ) {
    super(
      code === grpc.status.UNAVAILABLE
        ? `bpfman ${method}: cannot reach bpfman at ${socketPath}: ${details}`
        : code === grpc.status.DEADLINE_EXCEEDED
          ? `bpfman ${method}: no answer from ${socketPath} before the deadline`
          : `bpfman ${method} failed: ${details}`,
    );
    this.name = 'BpfmanError';
  }
}

/** A program as bpfman describes it (ProgramInfo + KernelProgramInfo). */
export interface BpfmanProgram {
  /** Kernel program id: the handle for Attach, Get and Unload. */
  id: number;
  name: string;
  /** Kernel numbering (6 = XDP). */
  programType: number;
  /** bpffs directory holding the program's maps, one file per map name. */
  mapPinPath: string;
  /** Set when this program shares the maps of another one. */
  mapOwnerId?: number;
  mapIds: number[];
  mapUsedBy: string[];
  /** bpfman link ids of the program's attachments. */
  links: number[];
  metadata: Record<string, string>;
  bytecodeFile?: string;
  loadedAt: string;
  tag: string;
}

export interface LoadRequest {
  /** Absolute path of the object file, as the bpfman server sees it. */
  objectPath: string;
  /** The program's C function name. */
  programName: string;
  metadata: Record<string, string>;
  /** Initial values of .rodata/.data globals (exact size each). */
  globalData?: Record<string, Uint8Array>;
  /** Share the maps of this earlier program instead of creating new ones. */
  mapOwnerId?: number;
}

export interface XdpAttachRequest {
  iface: string;
  /** 1..1000, lower runs first in the dispatcher. */
  priority: number;
  /** Network namespace file holding the interface (e.g. /run/netns/dns). */
  netns?: string;
  /** Return codes after which the dispatcher runs the next program; empty: bpfman's default
   * (XDP_PASS and dispatcher return). */
  proceedOn?: number[];
  metadata?: Record<string, string>;
}

export interface ListFilter {
  metadata?: Record<string, string>;
  /** Kernel numbering (6 = XDP). */
  programType?: number;
  /** Default true: programs bpfman loaded, not every program in the kernel. */
  bpfmanOnly?: boolean;
}

export interface BpfmanClientOptions {
  socketPath?: string;
  /** Deadline of each call. Load verifies and loads the program, so allow seconds. */
  timeoutMs?: number;
}

// ---- wire shapes (proto-loader with keepCase) --------------------------------------------

interface WireProgramInfo {
  name: string;
  bytecode?: { file?: string; location?: string } | null;
  links: number[];
  map_owner_id?: number | null;
  map_pin_path: string;
  map_used_by: string[];
  metadata: Record<string, string>;
}

interface WireKernelInfo {
  id: number;
  name: string;
  program_type: number;
  loaded_at: string;
  tag: string;
  map_ids: number[];
}

interface WireProgram {
  info?: WireProgramInfo | null;
  kernel_info?: WireKernelInfo | null;
}

type Unary = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

const BPFMAN_XDP = 0; // BpfmanProgramType.XDP in LoadInfo (not the kernel numbering)

/** The .proto sits beside this module in the source tree; a compiled build finds it in the
 * source tree it was built from unless the build copied it next to the .js file. */
export function protoPath(): string {
  const candidates = [
    path.join(__dirname, 'bpfman.proto'),
    path.resolve(__dirname, '../../../../sidecar/loader/bpfman/bpfman.proto'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`bpfman.proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

let serviceCtor: grpc.ServiceClientConstructor | undefined;

function bpfmanService(): grpc.ServiceClientConstructor {
  if (serviceCtor === undefined) {
    const definition = protoLoader.loadSync(protoPath(), {
      keepCase: true,
      longs: Number,
      enums: Number,
      defaults: true,
      arrays: true,
      objects: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      bpfman: { v1: { Bpfman: grpc.ServiceClientConstructor } };
    };
    serviceCtor = pkg.bpfman.v1.Bpfman;
  }
  return serviceCtor;
}

function toProgram(wire: WireProgram, context: string): BpfmanProgram {
  const info = wire.info;
  const kernel = wire.kernel_info;
  if (!info || !kernel) throw new Error(`bpfman ${context}: response lacks program or kernel info`);
  const program: BpfmanProgram = {
    id: kernel.id,
    name: info.name || kernel.name,
    programType: kernel.program_type,
    mapPinPath: info.map_pin_path,
    mapIds: kernel.map_ids ?? [],
    mapUsedBy: info.map_used_by ?? [],
    links: info.links ?? [],
    metadata: { ...(info.metadata ?? {}) },
    loadedAt: kernel.loaded_at,
    tag: kernel.tag,
  };
  if (info.map_owner_id !== undefined && info.map_owner_id !== null) program.mapOwnerId = info.map_owner_id;
  if (info.bytecode?.file) program.bytecodeFile = info.bytecode.file;
  return program;
}

export class BpfmanClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly client: grpc.Client;

  constructor(options: BpfmanClientOptions = {}) {
    this.socketPath = options.socketPath ?? DEFAULT_BPFMAN_SOCKET;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const Service = bpfmanService();
    this.client = new Service(`unix:${this.socketPath}`, grpc.credentials.createInsecure(), {
      // Reconnect within a second once bpfman is back after a restart.
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  /** Resolves once the socket accepts a connection; for start-up after launching bpfman. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) =>
        err
          ? reject(new BpfmanError('connect', grpc.status.UNAVAILABLE, err.message, this.socketPath))
          : resolve(),
      );
    });
  }

  private call<T>(method: string, request: object, timeoutMs = this.timeoutMs): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method];
    return new Promise((resolve, reject) => {
      fn.call(
        this.client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (err) reject(new BpfmanError(method, err.code, err.details || err.message, this.socketPath));
          else resolve(response as T);
        },
      );
    });
  }

  async load(req: LoadRequest): Promise<BpfmanProgram> {
    if (!path.isAbsolute(req.objectPath)) {
      throw new Error(`bpfman Load: object path must be absolute (bpfman resolves it, not us): ${req.objectPath}`);
    }
    const wire: Record<string, unknown> = {
      bytecode: { file: req.objectPath },
      info: [{ name: req.programName, program_type: BPFMAN_XDP }],
      metadata: req.metadata,
      global_data: Object.fromEntries(Object.entries(req.globalData ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
    };
    if (req.mapOwnerId !== undefined) wire.map_owner_id = req.mapOwnerId;
    const res = await this.call<{ programs: WireProgram[] }>('Load', wire);
    if (res.programs.length !== 1) {
      throw new Error(`bpfman Load: expected one program back, got ${res.programs.length}`);
    }
    return toProgram(res.programs[0], 'Load');
  }

  async attachXdp(programId: number, req: XdpAttachRequest): Promise<number> {
    const xdp: Record<string, unknown> = {
      priority: req.priority,
      iface: req.iface,
      proceed_on: req.proceedOn ?? [],
      metadata: req.metadata ?? {},
    };
    if (req.netns !== undefined) xdp.netns = req.netns;
    const res = await this.call<{ link_id: number }>('Attach', { id: programId, attach: { xdp_attach_info: xdp } });
    return res.link_id;
  }

  async detach(linkId: number): Promise<void> {
    await this.call('Detach', { link_id: linkId });
  }

  /** Unloads the program; bpfman also detaches its links and removes map pins no one uses. */
  async unload(programId: number): Promise<void> {
    await this.call('Unload', { id: programId });
  }

  async get(programId: number): Promise<BpfmanProgram> {
    return toProgram(await this.call<WireProgram>('Get', { id: programId }), 'Get');
  }

  async list(filter: ListFilter = {}): Promise<BpfmanProgram[]> {
    const req: Record<string, unknown> = {
      bpfman_programs_only: filter.bpfmanOnly ?? true,
      match_metadata: filter.metadata ?? {},
    };
    if (filter.programType !== undefined) req.program_type = filter.programType;
    const res = await this.call<{ results: WireProgram[] }>('List', req);
    return res.results.filter((r) => r.info && r.kernel_info).map((r) => toProgram(r, 'List'));
  }

  close(): void {
    this.client.close();
  }
}

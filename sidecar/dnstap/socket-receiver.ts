/**
 * Santa as the receiving end of BIND's `dnstap-output unix "<path>"`: a Unix socket server
 * speaking bidirectional Frame Streams (READY -> ACCEPT, START, data..., STOP -> FINISH).
 * BIND (libfstrm) connects, reconnects after `dnstap-reopen` or a lost connection, and drops
 * frames while nobody listens, so a slow or absent Santa never slows BIND down.
 */
import { promises as fsp } from 'fs';
import * as net from 'net';
import { QueryEvent } from '../ranking/question-key';
import { DnstapEventDecoder, DnstapStats } from './dnstap-message';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  Frame,
  FrameStreamDecoder,
  controlTypeName,
  encodeControlFrame,
} from './frame-streams';

export interface ReceiverOptions {
  /** Socket file permissions. BIND runs as its own user and must be able to connect; the
   * worst a local writer can do is skew the ranking (every cached answer is still built from
   * the zone and checked against BIND), so the default lets any local user connect. */
  mode?: number;
  /** A connection broke the protocol or the socket failed; the receiver keeps listening. */
  onError?: (err: Error) => void;
}

export class DnstapSocketReceiver {
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  /** One decoder for all connections, so the counters describe the whole receiver. */
  private readonly events: DnstapEventDecoder;
  connectionsAccepted = 0;

  constructor(
    readonly socketPath: string,
    onEvent: (event: QueryEvent) => void,
    private readonly options: ReceiverOptions = {},
  ) {
    this.events = new DnstapEventDecoder(socketPath, onEvent);
  }

  get stats(): DnstapStats {
    return this.events.stats;
  }

  async listen(): Promise<void> {
    await removeStaleSocket(this.socketPath);
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.onError?.(err));
    this.server = server;
    await fsp.chmod(this.socketPath, this.options.mode ?? 0o666);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.connections) s.destroy();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await fsp.rm(this.socketPath, { force: true });
  }

  private accept(socket: net.Socket): void {
    this.connectionsAccepted++;
    this.connections.add(socket);
    const frames = new FrameStreamDecoder();
    let state: 'handshake' | 'started' | 'stopped' = 'handshake';
    const fail = (problem: string) => {
      this.options.onError?.(new Error(`dnstap connection on ${this.socketPath}: ${problem}`));
      socket.destroy();
    };
    const onFrame = (f: Frame) => {
      if (f.kind === 'data') {
        if (state !== 'started') return fail('data frame before START');
        this.events.payload(f.payload);
        return;
      }
      switch (f.type) {
        case ControlType.READY:
          if (state !== 'handshake') return fail('READY after the handshake');
          if (!f.contentTypes.includes(DNSTAP_CONTENT_TYPE)) {
            return fail(`writer offers ${JSON.stringify(f.contentTypes)}, not ${DNSTAP_CONTENT_TYPE}`);
          }
          socket.write(encodeControlFrame(ControlType.ACCEPT, [DNSTAP_CONTENT_TYPE]));
          return;
        case ControlType.START:
          // A unidirectional writer starts without READY; accept it the same way.
          if (state !== 'handshake') return fail('START twice');
          if (f.contentTypes.length > 0 && !f.contentTypes.includes(DNSTAP_CONTENT_TYPE)) {
            return fail(`START for ${JSON.stringify(f.contentTypes)}, not ${DNSTAP_CONTENT_TYPE}`);
          }
          state = 'started';
          return;
        case ControlType.STOP:
          state = 'stopped';
          socket.end(encodeControlFrame(ControlType.FINISH));
          return;
        default:
          return fail(`unexpected ${controlTypeName(f.type)} from the writer`);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (state === 'stopped') return;
      try {
        frames.push(chunk, onFrame);
      } catch (err) {
        fail((err as Error).message);
      }
    });
    socket.on('error', (err) => this.options.onError?.(err));
    socket.on('close', () => this.connections.delete(socket));
  }
}

/** A socket file left by a receiver that died would make listen() fail with EADDRINUSE. Remove
 * it, unless something still accepts connections on it: then two receivers would compete. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another process is already receiving dnstap on ${path}`);
  await fsp.rm(path, { force: true });
}

/** Reads a dnstap file (`dnstap-output file "..."`): START, data frames, STOP. */
import { Readable } from 'stream';
import { readFileChunks, readStreamChunks, type ReadProgress } from '../io/read-chunks';
import { QueryEvent } from '../ranking/question-key';
import { DnstapEventDecoder, DnstapStats } from './dnstap-message';
import { ControlType, DNSTAP_CONTENT_TYPE, Frame, FrameStreamDecoder, FrameStreamError, controlTypeName } from './frame-streams';


/** Frame handling shared by files and streams (stdin): a START naming dnstap first, STOP last. */
class DnstapFileDecoder {
  readonly events: DnstapEventDecoder;
  private readonly frames = new FrameStreamDecoder();
  private state: 'before-start' | 'data' | 'stopped' = 'before-start';
  private offset = 0;

  constructor(private readonly source: string, onEvent: (e: QueryEvent) => void) {
    this.events = new DnstapEventDecoder(source, onEvent);
  }

  push(chunk: Buffer): void {
    if (this.state === 'stopped') return;
    try {
      this.frames.push(chunk, (f) => this.frame(f));
    } catch (err) {
      if (err instanceof FrameStreamError) throw new Error(`${this.source}: ${err.message}`);
      throw err;
    }
    this.offset += chunk.length;
  }

  end(): void {
    // A file BIND is still writing (or was killed while writing) has no STOP yet; what was
    // read is still good, so only a cut-off frame is worth a warning.
    if (this.frames.pendingBytes > 0) {
      this.events.stats.unreadable.note(`${this.source}:byte ${this.offset - this.frames.pendingBytes}`, 'file ends inside a frame', '');
    }
  }

  private frame(f: Frame): void {
    if (f.kind === 'data') {
      if (this.state !== 'data') throw new Error(`${this.source}: data frame before the START control frame: not a Frame Streams file`);
      this.events.payload(f.payload);
      return;
    }
    if (f.type === ControlType.START && this.state === 'before-start') {
      if (f.contentTypes.length > 0 && !f.contentTypes.includes(DNSTAP_CONTENT_TYPE)) {
        throw new Error(`${this.source}: content type ${JSON.stringify(f.contentTypes)} is not ${DNSTAP_CONTENT_TYPE}`);
      }
      this.state = 'data';
      return;
    }
    if (f.type === ControlType.STOP && this.state === 'data') {
      this.state = 'stopped';
      return;
    }
    throw new Error(`${this.source}: unexpected ${controlTypeName(f.type)} control frame in a dnstap file`);
  }
}

export async function readDnstapFile(
  path: string,
  onEvent: (e: QueryEvent) => void,
  onProgress?: ReadProgress,
): Promise<DnstapStats> {
  const decoder = new DnstapFileDecoder(path, onEvent);
  await readFileChunks(path, (chunk) => decoder.push(chunk), onProgress);
  decoder.end();
  return decoder.events.stats;
}

export async function readDnstapStream(
  stream: Readable,
  name: string,
  onEvent: (e: QueryEvent) => void,
  onProgress?: ReadProgress,
): Promise<DnstapStats> {
  const decoder = new DnstapFileDecoder(name, onEvent);
  await readStreamChunks(stream, (chunk) => decoder.push(chunk), onProgress);
  decoder.end();
  return decoder.events.stats;
}

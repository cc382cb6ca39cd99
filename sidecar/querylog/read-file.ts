/** Reads a whole query log (file or stream, e.g. stdin) from the start. */
import { promises as fsp } from 'fs';
import { Readable } from 'stream';
import { QueryEventSink, QueryLogDecoder, QueryLogStats } from './decoder';

export interface ReadProgress {
  (bytesRead: number, totalBytes: number | undefined): void;
}

const CHUNK_BYTES = 1 << 20;

export async function readQueryLogFile(
  path: string,
  onEvent: QueryEventSink,
  onProgress?: ReadProgress,
): Promise<QueryLogStats> {
  const decoder = new QueryLogDecoder(path, onEvent);
  const file = await fsp.open(path, 'r');
  try {
    const total = (await file.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      decoder.push(buf.subarray(0, bytesRead));
      onProgress?.(position, total);
    }
    decoder.endOfFile();
  } finally {
    await file.close();
  }
  return decoder.stats;
}

export async function readQueryLogStream(
  stream: Readable,
  name: string,
  onEvent: QueryEventSink,
  onProgress?: ReadProgress,
): Promise<QueryLogStats> {
  const decoder = new QueryLogDecoder(name, onEvent);
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buf.length;
    decoder.push(buf);
    onProgress?.(bytes, undefined);
  }
  decoder.endOfFile();
  return decoder.stats;
}

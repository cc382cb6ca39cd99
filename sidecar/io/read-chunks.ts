/**
 * Feeds a whole file or stream to a decoder chunk by chunk, reporting progress, so readers of
 * large inputs (query logs, dnstap files) share one loop and never hold the whole input.
 */
import { promises as fsp } from 'fs';
import { Readable } from 'stream';

export type ReadProgress = (bytesRead: number, totalBytes: number | undefined) => void;

const CHUNK_BYTES = 1 << 20;

/** Reads `path` from the start to its current end; the total in progress reports is its size. */
export async function readFileChunks(path: string, onChunk: (chunk: Buffer) => void, onProgress?: ReadProgress): Promise<void> {
  const file = await fsp.open(path, 'r');
  try {
    const total = (await file.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      // The buffer is reused: decoders must copy what they keep (both decoders do).
      onChunk(buf.subarray(0, bytesRead));
      onProgress?.(position, total);
    }
  } finally {
    await file.close();
  }
}

/** Reads a stream (stdin) to its end; its total is unknown. */
export async function readStreamChunks(stream: Readable, onChunk: (chunk: Buffer) => void, onProgress?: ReadProgress): Promise<void> {
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buf.length;
    onChunk(buf);
    onProgress?.(bytes, undefined);
  }
}

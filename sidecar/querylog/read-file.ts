/** Reads a whole query log (file or stream, e.g. stdin) from the start. */
import { Readable } from 'stream';
import { readFileChunks, readStreamChunks, type ReadProgress } from '../io/read-chunks';
import { QueryEventSink, QueryLogDecoder, QueryLogStats } from './decoder';

export type { ReadProgress };

export async function readQueryLogFile(
  path: string,
  onEvent: QueryEventSink,
  onProgress?: ReadProgress,
): Promise<QueryLogStats> {
  const decoder = new QueryLogDecoder(path, onEvent);
  await readFileChunks(path, (chunk) => decoder.push(chunk), onProgress);
  decoder.endOfFile();
  return decoder.stats;
}

export async function readQueryLogStream(
  stream: Readable,
  name: string,
  onEvent: QueryEventSink,
  onProgress?: ReadProgress,
): Promise<QueryLogStats> {
  const decoder = new QueryLogDecoder(name, onEvent);
  await readStreamChunks(stream, (chunk) => decoder.push(chunk), onProgress);
  decoder.endOfFile();
  return decoder.stats;
}

/**
 * Structured logs: one JSON object per line on stdout (pino), with an ISO time, the level as a
 * word, the component that wrote it, and errors serialised with their message and code. Log
 * collectors (journald, Docker, Loki) take the lines as they are.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config';

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Default: stdout, written synchronously so the last words before a crash are not lost. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. the instance or host. */
  base?: Record<string, string | number>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'santa', pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** A logger whose lines carry `component` (config, loader, zone, ranking, metrics, ...). */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** A logger that drops everything, for code paths and tests that need one but not its output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

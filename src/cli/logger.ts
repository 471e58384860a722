// The one structured logger (pino), in the main thread only. Commands log
// their milestones (run start/end, each compare sample, soak runs) as JSON
// lines; the CPU workers never log: they report through their counter
// blocks and trace rings in shared memory, which the main thread reads
// (a log call on the emulator's hot path would allocate and serialise
// inside the very interleavings under test).
//
// `--log FILE` writes JSON lines to FILE (level info unless --log-level
// says otherwise); `--log-level L` alone writes to stderr; neither: silent.

import { isMainThread } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { UsageError } from './errors.js';
import { checkOutputFile } from './output-files.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LogOptions {
  log?: string;
  logLevel?: string;
}

let current: Logger = pino({ level: 'silent' });

/**
 * Opens the logger for a command from its --log and --log-level options
 * (validated here: one line and exit 2 for a bad level or an unwritable
 * file). Synchronous writes: every line is in the file when the command
 * returns, and an exit by signal loses none.
 */
export function openLogger(o: LogOptions, command: string): Logger {
  if (!isMainThread) throw new Error('logger: only the main thread logs (workers report through shared memory)');
  const level = o.logLevel ?? (o.log !== undefined ? 'info' : 'silent');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level "${level}" is not a level: use ${LOG_LEVELS.join(', ')}`);
  }
  if (o.log !== undefined) checkOutputFile('--log', o.log);
  if (level === 'silent') {
    current = pino({ level: 'silent' });
    return current;
  }
  const dest = o.log !== undefined
    ? pino.destination({ dest: o.log, sync: true, append: false, mkdir: false })
    : pino.destination({ dest: 2, sync: true });
  current = pino({ level, base: { pid: process.pid, command } }, dest);
  return current;
}

/** The command's logger (silent until openLogger). */
export function logger(): Logger {
  return current;
}

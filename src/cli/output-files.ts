// Output files: every path a command will write is checked before any work
// starts (a run must not spend minutes and then find it cannot save what it
// produced), and every file is written to a temporary name in the same
// directory, fsynced, then renamed over the target, so a reader sees the old
// file or the whole new one, never a torn one.
//
// The rename is write-file-atomic's (npm): it picks a unique temporary name,
// fsyncs the data and the directory entry, and unlinks the temporary file
// when a write fails (ENOSPC, EIO), which is exactly what a hand-rolled
// version tends to get wrong.

import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { UsageError } from './errors.js';

/** Writing an output file failed after the work was done: the message names the file. */
export class OutputWriteError extends Error {
  override name = 'OutputWriteError';
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`could not write "${path}": ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function assertWritableDir(flag: string, path: string, dir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`${flag} "${path}": directory "${dir}" is not writable`);
  }
}

/**
 * Checks that `path` can be written as a file: it is not a directory, its
 * directory exists, is a directory and is writable. Throws a UsageError (one
 * line naming the path) otherwise.
 */
export function checkOutputFile(flag: string, path: string): void {
  const st = statOrNull(path);
  if (st?.isDirectory()) throw new UsageError(`${flag} "${path}" is a directory: name a file in it (e.g. ${path.replace(/\/+$/, '')}/report.pb)`);
  const dir = dirname(resolve(path));
  const dst = statOrNull(dir);
  if (dst === null) throw new UsageError(`${flag} "${path}": directory "${dir}" does not exist (create it first)`);
  if (!dst.isDirectory()) throw new UsageError(`${flag} "${path}": "${dir}" is not a directory`);
  assertWritableDir(flag, path, dir);
}

/**
 * Checks that `path` is, or can be made, a writable directory, and makes it.
 * Throws a UsageError naming the path when it is a file or sits under one.
 */
export function prepareOutputDir(flag: string, path: string): void {
  const st = statOrNull(path);
  if (st !== null && !st.isDirectory()) throw new UsageError(`${flag} "${path}" is a file, not a directory: name a directory (it is created if missing)`);
  if (st === null) {
    let up = dirname(resolve(path));
    let ust = statOrNull(up);
    while (ust === null && dirname(up) !== up) { up = dirname(up); ust = statOrNull(up); }
    if (ust !== null && !ust.isDirectory()) throw new UsageError(`${flag} "${path}": "${up}" is a file, not a directory`);
    assertWritableDir(flag, path, up);
    try {
      mkdirSync(path, { recursive: true });
    } catch (e) {
      throw new UsageError(`${flag} "${path}": cannot create the directory: ${(e as Error).message}`);
    }
  }
  assertWritableDir(flag, path, resolve(path));
}

/** Writes a whole file atomically (temporary name, fsync, rename); throws OutputWriteError naming the file. */
export async function writeOutputFile(path: string, data: string | Buffer): Promise<void> {
  try {
    await writeFileAtomic(path, data, { fsync: true });
  } catch (e) {
    throw new OutputWriteError(path, e);
  }
}

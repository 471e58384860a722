// Output files: every path a command will write is checked before any work
// starts (a run must not spend minutes and then find it cannot save what it
// produced), and every file is written to a temporary name in the same
// directory, fsynced, then renamed over the target, so a reader sees the old
// file or the whole new one, never a torn one.
//
// Not write-file-atomic (npm), which we tried first: it issues one write(2)
// and ignores the count it returns. On a filling disk Linux returns a short
// count, not ENOSPC, so it renamed a 4096-byte prefix of a 20 KiB report
// over the target and reported success (reproduced by test/cli/full-disk's
// torn-write case; coder/xum#4282 found the same in write-file-atomic 8).
// Node's FileHandle.writeFile loops until every byte is written or an error
// is raised, and the size is checked again before the rename.

import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
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
    // ENOTDIR: some ancestor is a file; the callers find and name it.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
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

/** The nearest existing ancestor of `dir` if it is not a directory, else null. */
function firstFileAbove(dir: string): string | null {
  let up = dir;
  let st = statOrNull(up);
  while (st === null && dirname(up) !== up) { up = dirname(up); st = statOrNull(up); }
  return st !== null && !st.isDirectory() ? up : null;
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
  if (dst === null) {
    const file = firstFileAbove(dir);
    if (file !== null) throw new UsageError(`${flag} "${path}": "${file}" is a file, not a directory`);
    throw new UsageError(`${flag} "${path}": directory "${dir}" does not exist (create it first)`);
  }
  if (!dst.isDirectory()) throw new UsageError(`${flag} "${path}": "${dir}" is a file, not a directory`);
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
    const file = firstFileAbove(resolve(path));
    if (file !== null) throw new UsageError(`${flag} "${path}": "${file}" is a file, not a directory`);
    let up = dirname(resolve(path));
    while (statOrNull(up) === null && dirname(up) !== up) up = dirname(up);
    assertWritableDir(flag, path, up);
    try {
      mkdirSync(path, { recursive: true });
    } catch (e) {
      throw new UsageError(`${flag} "${path}": cannot create the directory: ${(e as Error).message}`);
    }
  }
  assertWritableDir(flag, path, resolve(path));
}

/**
 * Writes a whole file atomically: a temporary file beside it (same
 * filesystem, so the rename is atomic), every byte written, its size
 * checked, fsynced, renamed over `path`, and the directory fsynced so the
 * rename itself survives a crash. On any error the temporary file is
 * removed and OutputWriteError (naming `path`) is thrown; `path` is then
 * untouched.
 */
export async function writeOutputFile(path: string, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const dir = dirname(resolve(path));
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      await fh.writeFile(bytes);
      const { size } = await fh.stat();
      if (size !== bytes.length) throw new Error(`short write: ${size} of ${bytes.length} bytes reached the disk`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
    await syncDir(dir);
  } catch (e) {
    if (created) await unlink(tmp).catch(() => {});
    throw new OutputWriteError(path, e);
  }
}

/** fsync of a directory: makes a rename in it durable (some filesystems refuse; that is not an error). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EINVAL on filesystems without directory fsync: the rename is still atomic.
  }
}

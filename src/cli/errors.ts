// User-facing errors and exit codes (STYLE.md): 0 ok, 1 violation or failed
// check, 2 bad input, 3 internal fault, 4 output file not written, 130/143
// interrupted. Each error is one line naming the
// bad value and the valid choices.

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;
/**
 * The work was done and its results printed on stdout, but an output file
 * (--out) could not be written (full disk, I/O error); the message names the
 * file. Takes precedence over 1: what is on disk is incomplete.
 */
export const EXIT_OUTPUT = 4;
// 130 / 143: stopped by SIGINT / SIGTERM, partial results printed (interrupt.ts).

/** The user asked for something invalid: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The run finished and a check failed: exit 1. */
export class CheckFailedError extends Error {
  override name = 'CheckFailedError';
}

// --- hunt / shrink (issue 10) ---
/**
 * `hunt`: nothing failed within the budget, so there was no failure to turn
 * into a replay line: exit 5 (distinct from 1, where a failure was seen).
 */
export const EXIT_NOTHING_FOUND = 5;

export class NothingFoundError extends Error {
  override name = 'NothingFoundError';
}

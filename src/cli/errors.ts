// User-facing errors and exit codes (STYLE.md): 0 ok, 1 violation or failed
// check, 2 bad input, 3 internal fault. Each error is one line naming the
// bad value and the valid choices.

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** The user asked for something invalid: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The run finished and a check failed: exit 1. */
export class CheckFailedError extends Error {
  override name = 'CheckFailedError';
}

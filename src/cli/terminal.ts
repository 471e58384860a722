// Terminal state the progress bars change (cursor hidden, line wrapping
// off: cli-progress's defaults) and the one function that puts it back.
// It runs on every way out of the process: a normal return, an error, the
// second Ctrl-C's immediate exit (process.exit runs 'exit' listeners), so a
// shell is never left without a cursor or with wrapping off.

const SHOW_CURSOR = '\x1b[?25h';
const WRAP_ON = '\x1b[?7h';

let changed = false;
let hooked = false;

/** A progress display is about to change the terminal: restore it at exit whatever happens. */
export function terminalChanged(): void {
  changed = true;
  if (!hooked) {
    hooked = true;
    process.on('exit', restoreTerminal);
  }
}

/** Shows the cursor and turns line wrapping back on, if a progress display changed them. Idempotent. */
export function restoreTerminal(): void {
  if (!changed) return;
  changed = false;
  if (process.stderr.isTTY) {
    try {
      process.stderr.write(`${SHOW_CURSOR}${WRAP_ON}`);
    } catch {
      // stderr closed: nothing left to restore
    }
  }
}

// A one-line status on stderr for commands made of many short runs (hunt,
// shrink): which phase, how far, what runs now. Only on a TTY; the line is
// rewritten in place and cleared at the end, so stdout stays clean.

import { terminalChanged } from './terminal.js';

export interface StepProgress {
  readonly update: (phase: string, done: number, total: number, note: string) => void;
  readonly stop: () => void;
}

/** A status line when `enabled` (progressWanted), else nothing. */
export function stepProgress(enabled: boolean): StepProgress {
  if (!enabled) return { update: () => {}, stop: () => {} };
  let shown = false;
  const width = Math.max(40, (process.stderr.columns ?? 100) - 1);
  return {
    update(phase, done, total, note) {
      if (!shown) terminalChanged();
      shown = true;
      process.stderr.write(`\r\x1b[K${`${phase} ${done}/${total}: ${note}`.slice(0, width)}`);
    },
    stop() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

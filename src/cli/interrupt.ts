// SIGINT / SIGTERM during `run` and `soak`. The first one stops the CPUs the
// way a time limit does (each finishes its op and quiesces), so the command
// still prints and writes what the run produced, marked interrupted, and
// then exits 130 (SIGINT) or 143 (SIGTERM), the shell's 128 + signal number.
// A second one exits at once (after restoring the terminal): the user asked
// twice, and a stuck run must not hold the terminal.

import { restoreTerminal } from './terminal.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** 128 + signal number, as a shell reports a process killed by the signal. */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export class InterruptGuard {
  private readonly controller = new AbortController();
  private received: StopSignal | null = null;
  private readonly onInt = (): void => this.handle('SIGINT');
  private readonly onTerm = (): void => this.handle('SIGTERM');

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The first signal received, or null. */
  get which(): StopSignal | null {
    return this.received;
  }

  /** The exit code for the signal received (130 or 143). */
  get exitCode(): number {
    return this.received === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
  }

  install(): this {
    process.on('SIGINT', this.onInt);
    process.on('SIGTERM', this.onTerm);
    return this;
  }

  dispose(): void {
    process.off('SIGINT', this.onInt);
    process.off('SIGTERM', this.onTerm);
  }

  private handle(sig: StopSignal): void {
    if (this.received !== null) {
      restoreTerminal();
      process.stderr.write(`\nshootdown: second ${sig}: exiting now without a report\n`);
      process.exit(sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    }
    this.received = sig;
    process.stderr.write(`\nshootdown: ${sig}: stopping the CPUs, then printing and writing the partial report (send it again to exit at once)\n`);
    this.controller.abort();
  }
}

/** Thrown once the partial results are out: main() turns it into exit 130/143. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly signalName: StopSignal, message: string) {
    super(message);
  }
  get exitCode(): number {
    return this.signalName === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
  }
}

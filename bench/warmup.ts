// When an oversubscribed run is warm.
//
// Every CPU worker is its own V8 isolate and compiles its own hot code
// (src/engine/worker-jit.ts). With 64 CPUs on 2 host cores that is 64
// times the compiler work of one CPU, and the run's rate climbs for tens of
// seconds before it levels off; a window taken earlier measures the
// compiler, not the emulator. An hour-long soak spends a minute of it
// warming: the steady state is the figure a user lives with, and the
// warm-up is reported beside it.
//
// The bench feeds it work per host CPU-second (ops over process CPU time),
// which the compiles of a cold run inflate (~800 us of host CPU per op
// against ~20 us warm, 64 CPUs on 2 cores) and which does not move with
// the share of the host other jobs leave: ops per wall second do, by a
// third from window to window. Even so "warm" is not "two windows agree".
// It is: the climb has stopped, i.e. `calm` windows in a row have not
// beaten the best window before them by more than `gain`.

/** Warm-up state of one run, fed one window rate at a time. */
export class WarmupDetector {
  private best = 0;
  private sinceRecord = 0;
  private windows = 0;

  /**
   * gain: a window more than best x gain is still climbing (> 1).
   * calm: windows in a row without such a record that make the run warm (>= 1).
   */
  constructor(private readonly gain = 1.1, private readonly calm = 3) {
    if (!(gain > 1) || !(calm >= 1)) throw new RangeError(`WarmupDetector: gain ${gain} must be > 1 and calm ${calm} >= 1`);
  }

  /** Feeds one window's rate (any unit, >= 0); returns whether the run is warm after it. */
  push(rate: number): boolean {
    this.windows++;
    if (this.windows === 1 || rate > this.best * this.gain) {
      this.sinceRecord = 0;
    } else {
      this.sinceRecord++;
    }
    if (rate > this.best) this.best = rate;
    return this.warm();
  }

  /** Whether `calm` windows in a row have passed without a new record. */
  warm(): boolean {
    return this.sinceRecord >= this.calm;
  }

  /** Windows fed so far. */
  count(): number {
    return this.windows;
  }
}

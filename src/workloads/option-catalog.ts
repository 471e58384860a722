// What `shootdown run <scenario> --options` lists: each option a scenario
// reads, with its default (for the chosen CPU count) and its range. The
// option readers (mm/options.ts intOption/choiceOption, ipi-storm's) report
// here as they read, so the listing comes from the same calls that validate
// a run: it cannot drift from what the scenario really accepts.

export interface OptionEntry {
  readonly name: string;
  readonly default: number | string;
  /** "0..100" or "threads|processes". */
  readonly range: string;
}

let recording: Map<string, OptionEntry> | null = null;

/** Called by the option readers: records the first read of each name while a listing is being made. */
export function recordOption(entry: OptionEntry): void {
  if (recording !== null && !recording.has(entry.name)) recording.set(entry.name, entry);
}

/** Runs `fn` (a scenario's set-up) and returns the options it read, in reading order. */
export function recordOptionsOf(fn: () => void): OptionEntry[] {
  recording = new Map();
  try {
    fn();
    return [...recording.values()];
  } finally {
    recording = null;
  }
}

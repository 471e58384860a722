// --option key=value (repeatable): scenario options, typed by their text.

import type { ScenarioOptions } from '../workloads/index.js';
import { defaultMemBytes, findScenario } from '../workloads/index.js';
import { UsageError } from './errors.js';

export function collectOption(value: string, acc: string[]): string[] {
  return [...acc, value];
}

/** "threads=8" -> { threads: 8 }; numbers and true/false are typed, anything else stays text. */
export function parseScenarioOptions(pairs: readonly string[]): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(pair);
    if (!m) throw new UsageError(`--option "${pair}" is not key=value (e.g. --option threads=8)`);
    const [, key, text] = m as unknown as [string, string, string];
    if (key === 'variant') throw new UsageError('--option variant=... is set with --variant');
    out[key] = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text === 'true' ? true : text === 'false' ? false : text;
  }
  return out;
}

/** The machine size when --mem is not given: the scenario's own, grown with the CPU count (defaultMemBytes). */
export function defaultMemFor(scenario: string, cpus: number): string {
  const bytes = defaultMemBytes(findScenario(scenario), cpus) ?? 256 * 2 ** 20;
  return `${bytes / 2 ** 20}M`;
}

export type { ScenarioOptions };

// The counters and key options a scenario declares as its own (issue 8
// follow-up): the table form of a report (src/cli/render-report.ts) prints
// these counters under the per-CPU table when non-zero, and the header
// names the key options with their resolved values, defaults included.
// The scenarios read their defaults from here (one source of truth).

/** guest-memfd's default recursion answer (`--option recursion=`). */
export const GMEM_DEFAULT_RECURSION = 'refuse';
/** guest-memfd's default direct-map leaves (`--option leaves=`). */
export const GMEM_DEFAULT_LEAVES = '1g';
/** mshare's default flush strategy (`--option strategy=`). */
export const MSHARE_DEFAULT_STRATEGY = 'flush-all';

/** Per scenario: its own RunReport totals counters, in print order. */
export const SCENARIO_OWN_COUNTERS: Readonly<Record<string, readonly string[]>> = {
  'guest-memfd': [
    'gmemFaults', 'gmemKernelFlushes', 'directMapSplits', 'directMapRestores', 'pageTablesForDirectMap',
    'recursionRefusals', 'directMapRestoreWarns', 'notifierCalls',
  ],
  mshare: ['mshareFlushes', 'mshareCpusInterrupted', 'notifierCalls', 'iotlbInvalidations'],
};

/** Scenarios that refuse every ASI variant: their ASI-exit counters are always 0. */
export const SCENARIOS_WITHOUT_ASI: readonly string[] = ['guest-memfd'];

/** Per scenario: its key options and their defaults, printed in the header as resolved. */
export const SCENARIO_KEY_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'guest-memfd': { recursion: GMEM_DEFAULT_RECURSION, leaves: GMEM_DEFAULT_LEAVES },
  mshare: { strategy: MSHARE_DEFAULT_STRATEGY },
};

/**
 * The key options of `scenario` as resolved for a run whose report lists
 * `options` ("key=value" strings as given): given values win, the others
 * are the defaults, marked "(default)". Empty for a scenario with none.
 */
export function resolvedKeyOptions(scenario: string, options: readonly string[]): string[] {
  const keys = SCENARIO_KEY_OPTIONS[scenario];
  if (!keys) return [];
  return Object.entries(keys).map(([k, def]) => {
    const given = options.find((kv) => kv.startsWith(`${k}=`));
    return given ?? `${k}=${def} (default)`;
  });
}

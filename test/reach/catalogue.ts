// The catalogue's --variant and --option pairs of a bug (src/check/bugs.ts),
// parsed as the CLI parses them, for reach tests that run its scenario
// through the engine directly.
import { BUG_CATALOG } from '../../src/check/bugs.js';

export function catalogueOptions(bug: string): Record<string, string | number> {
  const spec = BUG_CATALOG.find((b) => b.name === bug);
  if (spec === undefined) throw new Error(`no bug ${bug} in the catalogue`);
  const args = spec.args;
  const o: Record<string, string | number> = {};
  args.forEach((a, i) => {
    if (a === '--variant') o['variant'] = args[i + 1]!;
    if (a !== '--option') return;
    const [k, v] = args[i + 1]!.split('=') as [string, string];
    o[k] = /^\d+$/.test(v) ? Number(v) : v;
  });
  return o;
}

// `shootdown profiles --list`: the CPU profiles and each cost with its
// source, or "fitted" when it was chosen to reproduce a published figure
// (followed by how: solved by bench/calibrate.ts, or a prior it holds).

import { loadProfile, profileNames } from '../cost/profile.js';
import { UsageError } from './errors.js';
import { FORMATS, renderTable } from './format.js';
import { parseChoice } from './parse.js';

export interface ProfilesOptions {
  list?: boolean;
  format: string;
}

export function runProfiles(opts: ProfilesOptions): string {
  const format = parseChoice('--format', opts.format, FORMATS);
  if (!opts.list) throw new UsageError('profiles: use --list to see the CPU profiles; pick one with `run ... --profile NAME`');
  const profiles = profileNames().map(loadProfile);
  if (format === 'json') return JSON.stringify(profiles, null, 2);
  return profiles.map((p) => [
    `${p.name}: ${p.description} (${p.ghz} GHz)`,
    renderTable(['event', 'cycles', 'source'], p.costs.map((c) => [c.event, c.cycles, c.fitted ? (c.source ? `fitted: ${c.source}` : 'fitted') : c.source])),
  ].join('\n')).join('\n\n');
}

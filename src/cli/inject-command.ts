// `shootdown inject --list`: the injectable-bug catalogue.

import { listBugs } from '../check/bugs.js';
import { FORMATS } from './format.js';
import { renderTable } from './format.js';
import { UsageError } from './errors.js';
import { parseChoice } from './parse.js';

export interface InjectOptions {
  list?: boolean;
  format: string;
  all?: boolean;
}

export function runInject(opts: InjectOptions): string {
  const format = parseChoice('--format', opts.format, FORMATS);
  if (!opts.list) throw new UsageError('inject: use --list to see the bugs; turn one on with `run ... --inject NAME`');
  const bugs = listBugs().filter((b) => opts.all || b.implemented);
  if (format === 'json') {
    return JSON.stringify(bugs.map(({ name, invariant, scenario, args, layer, source }) => ({ name, layer, invariant, scenario, args, source: source ?? '' })), null, 2);
  }
  const rows = bugs.map((b) => [b.name, b.layer, b.invariant, b.implemented ? [b.scenario, ...b.args].join(' ') : '(pending: no scenario catches it yet)']);
  const pending = listBugs().filter((b) => !b.implemented).length;
  const note = !opts.all && pending > 0 ? `\n${pending} more catalogued bugs are pending (no scenario catches them yet): --all lists them too.` : '';
  return renderTable(['bug', 'layer', 'invariant it breaks', 'caught by'], rows) + note;
}

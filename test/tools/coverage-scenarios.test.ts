// tools/coverage-scenarios.ts counts the source's named functions, not the
// functions in c8's report (which leaves out uncalled functions nested in
// uncalled ranges), and matches the report to them by line and name.
import { describe, expect, it } from 'vitest';
import { type FileCoverage, fileRows, kinds } from '../../tools/coverage-scenarios.js';
import { parseFunctions } from '../../tools/source-functions.js';

const SOURCE = `export class DemoError extends Error {
  override name = 'DemoError';
}
export function top(): number {
  return [1, 2].map((x) => x + 1).length;
}
const arrow = (): void => {};
class Box {
  constructor(readonly v: number) {}
  get size(): number { return 1; }
  grow(): void {}
  field = (): number => 2;
  visit: () => void;
  constructor2(): void { this.visit = () => {}; }
}
export const ops = { irqsOff(): void {}, root: function (): void {} };
export function overload(a: number): void;
export function overload(a: number): void {}
`;

/** A report entry: name, line, count. */
function cov(entries: [string, number, number][]): FileCoverage {
  const fc: FileCoverage = { fnMap: {}, f: {} };
  entries.forEach(([name, line, count], i) => {
    fc.fnMap[i] = { name, decl: { start: { line } } };
    fc.f[i] = count;
  });
  return fc;
}

describe('source functions', () => {
  it('lists named functions, not callbacks, field initialisers or overload signatures', () => {
    expect(parseFunctions('demo.ts', SOURCE).map((f) => `${f.line} ${f.name}`)).toEqual([
      '4 top', '7 arrow', '9 Box', '10 Box.get size', '11 Box.grow', '12 Box.field', '14 Box.constructor2', '14 Box.visit', '16 irqsOff', '16 root', '18 overload',
    ]);
  });
});

describe('matching the report to the source', () => {
  const fns = parseFunctions('demo.ts', SOURCE);

  it('a function missing from the report did not run; an initialiser is not counted', () => {
    const { rows, unplaced } = fileRows('demo.ts', fns, cov([['<instance_members_initializer>', 1, 0], ['top', 4, 3], ['Box', 9, 1]]), { 'demo.ts:Box.grow': 'why' });
    expect(rows.filter((r) => r.reached).map((r) => r.name)).toEqual(['top', 'Box']);
    expect(rows.find((r) => r.name === 'Box.grow')!.reason).toBe('why');
    expect(rows).toHaveLength(11);
    expect(unplaced).toEqual([]);
  });

  it('two functions on one line are told apart by name, and a file no thread loaded has none reached', () => {
    const { rows } = fileRows('demo.ts', fns, cov([['irqsOff', 16, 0], ['root', 16, 2]]), {});
    expect(rows.filter((r) => r.reached).map((r) => r.name)).toEqual(['root']);
    expect(fileRows('demo.ts', fns, undefined, {}).rows.some((r) => r.reached)).toBe(false);
  });

  it('a reported function that ran and matches no source function is returned as unplaced', () => {
    expect(fileRows('demo.ts', fns, cov([['ghost', 2, 1], ['ghost2', 16, 1]]), {}).unplaced).toEqual(['demo.ts:2 ghost', 'demo.ts:16 ghost2']);
  });
});

describe('the summary by kind', () => {
  it('counts reasons by their prefix, most first', () => {
    const row = (reason: string) => ({ file: 'f.ts', name: 'x', line: 1, reached: false, reason });
    expect(kinds([row('test-only: a'), row('option: b'), row('test-only: c'), row('')])).toBe(': test-only 2, no reason 1, option 1');
    expect(kinds([])).toBe('');
  });
});

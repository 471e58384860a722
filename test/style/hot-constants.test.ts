// The hot-path modules copy the layout constants they import into
// module-local consts (README, "Layout of the source"): V8 folds a module's
// own const into optimised code but loads an imported binding from its
// module cell, with a TDZ check, at every use (TLB hit 0.20 against 0.34
// of the raw loop, bench/README.md). A plain named import of a layout
// value in one of these files would undo that silently; this test names
// the file and the constants.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const HOT_DIRS = ['src/hw', 'src/kernel/page_alloc', 'src/sync', 'src/kernel/tlb'];
const HOT_FILES = ['src/kernel/smp.ts', 'src/trace/ring.ts', 'src/check/oracle.ts', 'src/check/lockdep.ts', 'src/check/isolation.ts'];
const LAYOUT_IMPORT = /import \{([^}]*)\} from '[./]*native-layout\/(bits|fields|counters|shape|regions)\.js';/gs;
const LAYOUT_NAMESPACE = /import \* as \w+ from '[./]*native-layout\/(bits|fields|counters|shape|regions)\.js';/;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/**
 * What a file imports from the layout without a local copy: value names
 * imported without an alias, aliases `X as Y` with no `const X = Y`, and
 * namespace imports (read through the namespace at every use).
 */
export function plainLayoutImports(source: string): string[] {
  const plain: string[] = [];
  if (LAYOUT_NAMESPACE.test(source)) plain.push('import * as');
  for (const m of source.matchAll(LAYOUT_IMPORT)) {
    for (const raw of m[1]!.split(',')) {
      const name = raw.trim();
      if (name === '' || name.startsWith('type ')) continue;
      const alias = /^(\w+) as (\w+)$/.exec(name);
      if (alias === null) plain.push(name);
      else if (!new RegExp(`\\b${alias[1]} = ${alias[2]}\\b`).test(source)) plain.push(`${alias[1]} (no local copy of ${alias[2]})`);
    }
  }
  return plain;
}

describe('hot-path modules take layout constants as module-local consts', () => {
  const files = [...HOT_DIRS.flatMap(tsFiles), ...HOT_FILES];

  it('finds the hot-path files', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('no hot-path file imports a layout value without an alias', () => {
    const offenders = files
      .map((f) => ({ f, names: plainLayoutImports(readFileSync(join(ROOT, f), 'utf8')) }))
      .filter((x) => x.names.length > 0)
      .map((x) => `${x.f}: ${x.names.join(', ')}`);
    expect(offenders).toEqual([]);
  });

  it('the check sees a plain import, and lets an aliased one and a type through', () => {
    expect(plainLayoutImports("import { TLB_META, type X } from '../../native-layout/fields.js';")).toEqual(['TLB_META']);
    expect(plainLayoutImports("import { TLB_META as TLB_META_ } from '../../native-layout/fields.js';\nconst TLB_META = TLB_META_;")).toEqual([]);
    expect(plainLayoutImports("import { TLB_META as TLB_META_ } from '../../native-layout/fields.js';")).toEqual(['TLB_META (no local copy of TLB_META_)']);
    expect(plainLayoutImports("import * as f from '../../native-layout/fields.js';")).toEqual(['import * as']);
    expect(plainLayoutImports("import { IOTLB_ENTRIES } from '../../native-layout/regions.js';")).toEqual(['IOTLB_ENTRIES']);
    expect(plainLayoutImports("import { type MachineShape } from '../native-layout/shape.js';")).toEqual([]);
  });
});

// Reverted real fixes (issue 11): the bug catalogue names, for every bug
// that reproduces a published Linux fix, the fix it reverts (`source`), and
// `inject --list --format json` carries it.
import { describe, expect, it } from 'vitest';
import { listBugs } from '../../src/check/bugs.js';
import { runCli } from '../cli/helpers.js';

/** "<12-hex commit> <subject>", optionally after "CVE-YYYY-N; ". */
const SOURCE = /^(CVE-\d{4}-\d{4,}; )?[0-9a-f]{12} \S.{10,}$/;

/** The bugs known to revert a published fix (SEMANTICS.md reference §2 and issue 11). */
const FROM_FIXES = [
  'skip-lazy-on-pagetable-free', 'flush-range-freed-tables-false', 'ignore-switching-window', 'switch-mm-no-fence',
  'parallel-zap-no-nested-check', 'reclaim-batch-vs-mprotect', 'mremap-flush-after-unlock', 'table-free-before-invalidate',
  'retract-no-pte-lock', 'zap-dirty-flush-after-unlock', 'nested-flush-drops-freed-tables', 'mremap-pmd-no-rmap-lock', 'invlpgb-table-free-no-sync',
  'numa-protnone-not-accessible', 'collapse-no-gup-sync', 'pti-no-user-pcid-flush', 'hugetlb-unshare-no-flush',
];

describe('bug sources', () => {
  it('every bug that reverts a published fix names it as commit id and subject (CVE first when there is one)', () => {
    const bugs = new Map(listBugs().map((b) => [b.name, b]));
    for (const name of FROM_FIXES) {
      const b = bugs.get(name);
      expect(b, name).toBeDefined();
      expect(b!.source, name).toMatch(SOURCE);
    }
    // The CVEs the catalogue reproduces are named.
    expect(bugs.get('mremap-flush-after-unlock')!.source).toMatch(/^CVE-2018-18281; eb66ae030829 /);
    expect(bugs.get('flush-range-freed-tables-false')!.source).toMatch(/^CVE-2025-22045; 3ef938c35035 /);
    expect(bugs.get('switch-mm-no-fence')!.source).toMatch(/^CVE-2025-40174; 83b0177a6c48 /);
    expect(bugs.get('mremap-pmd-no-rmap-lock')!.source).toMatch(/^CVE-2022-41222; 97113eb39fa7 /);
    expect(bugs.get('hugetlb-unshare-no-flush')!.source).toMatch(/^CVE-2021-4002; a4a118f2eead /);
  });

  it('bugs that model a class rather than one fix carry no source', () => {
    const b = listBugs().find((x) => x.name === 'free-before-flush')!;
    expect(b.source).toBeUndefined();
  });

  it('inject --list --format json rows carry source (empty when none)', () => {
    const r = runCli(['inject', '--list', '--format', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; source: string }[];
    for (const row of rows) expect(typeof row.source).toBe('string');
    const byName = new Map(rows.map((x) => [x.name, x.source]));
    expect(byName.get('nested-flush-drops-freed-tables')).toBe('7a30df49f63a mm: mmu_gather: remove __tlb_reset_range() for force flush');
    expect(byName.get('reclaim-batch-vs-mprotect')).toMatch(/^3ea277194daa mm, mprotect: /);
    expect(byName.get('free-before-flush')).toBe('');
  });
});

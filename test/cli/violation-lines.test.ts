// Violation lines whose record fields mean something other than the inline
// oracle's "generation fill -> frame": the ephemeral maps' audit at loss of
// access, and the freed-table ghost check. Each names what a kernel
// engineer needs (which CPU holds what, whose slot, who freed the table).
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('violation lines of the run table', () => {
  it('an isolation found by the loss-of-access audit names the caching CPU, the slot\'s CPU and the entry\'s kind', () => {
    const r = runCli(['run', 'page-cache-evict', '--variant', 'asi-on+ephmap', '--inject', 'no-mitigation-flush-on-evict',
      '--seconds', '3', '--option', 'closePercent=0', '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^first violation: isolation: cpu \d+ still translates va 0x[0-9a-f]+ \(slot of cpu \d+\) to pfn \d+ after its process lost access \((a speculative entry never used|an entry some access used), filled at generation \d+; found by the audit at task -?\d+ op -?\d+\)$/m);
  });

  it('a freed table still cached names the CPU holding it and the CPU freeing it', () => {
    const r = runCli(['run', 'munmap-storm', '--inject', 'skip-lazy-on-pagetable-free', '--seconds', '3', '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^(first violation|violation \d+): freed-table-cached: cpu \d+'s paging-structure cache still points at page table \d+ \(the 2 MiB region at va 0x[0-9a-f]+, table generation \d+\) as cpu \d+ frees it$/m);
  });
});

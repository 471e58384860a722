// Violation lines whose record fields mean something other than the inline
// oracle's "generation fill -> frame": the ephemeral maps' audit at loss of
// access, the freed-table ghost check, and a user access that faults for
// ever. Each names what a kernel engineer needs (which CPU holds what, whose
// slot, who freed the table, which address of which mm).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/cli/render-report.js';
import { decodeReportFile } from '../../src/report/report-file.js';
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

describe('a user-fault-loop record', () => {
  it('is printed as the address, the mm, the last fault code and the retries, not as generations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ufl-'));
    const file = join(dir, 'run.pb');
    const r = runCli(['run', 'tlb-flush2', '--ops', '20', '--cpus', '2', '--out', file, '--no-progress']);
    expect(r.code).toBe(0);
    const report = decodeReportFile(readFileSync(file));
    rmSync(dir, { recursive: true, force: true });
    // A clean run's report with one staged record: the record's fields as
    // src/kernel/mm/uaccess.ts writes them (pfn the fault code, fillGen the
    // retries, frameGen the mm); the kernel side is test/mm/user-fault-loop.
    const record = { kind: 'user-fault-loop', cpu: 1, task: 3, va: 0x1000002000, pfn: -14, fillGen: 64, frameGen: 2, op: 17, slotCpu: -1, lastEvents: [] };
    const text = renderReport({ ...report, violationRecords: [record] });
    expect(text).toMatch(/^first violation: user-fault-loop: cpu 1 task 3: a user access of va 0x1000002000 in mm 2 still faulted \(code -14\) after 64 retries, the fault handler reporting no error, at op 17: /m);
    expect(text).not.toMatch(/user-fault-loop.*generation/);
  });
});

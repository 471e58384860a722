// hunt and shrink match a failure by kind and site (src/replay/failure-site.ts):
// the site keeps what stays put for one bug (address class, slot role,
// walker, lock classes, expected sensitivity) and drops what changes from
// run to run (CPU numbers, op, the exact address or frame).
import { describe, expect, it } from 'vitest';
import { failureKey, failureSite } from '../../src/replay/failure-site.js';
import type { RunReportObject } from '../../src/report/run-report.js';

const TOTALS = { violations: 1, framesLost: 0 };
function report(record: Record<string, unknown>): RunReportObject {
  return {
    totals: TOTALS, stoppedBy: 'ops', fault: '', endCheck: [],
    violationRecords: [{ kind: 'stale-at-flush', cpu: 1, task: 3, va: 0x7f0000001000, pfn: 900, fillGen: 4, frameGen: 5, op: 17, slotCpu: -1, swWalker: '', swLevel: 0, swFreedBy: -1, ...record }],
  } as unknown as RunReportObject;
}

describe('failure site', () => {
  it('tells a user address from a kernel one, and ignores CPU, op, address and frame', () => {
    expect(failureKey(report({}), 'site')).toBe('violation:stale-at-flush [user va]');
    expect(failureKey(report({ cpu: 3, op: 999, va: 0x1000, pfn: 7 }), 'site')).toBe('violation:stale-at-flush [user va]');
    expect(failureKey(report({ va: 0x888000123000 }), 'site')).toBe('violation:stale-at-flush [kernel va]');
    expect(failureKey(report({ va: 0x888000123000 }), 'kind')).toBe('violation:stale-at-flush');
  });

  it('names the ephemeral-map slot role, the software walker and level, lock classes, the expected sensitivity', () => {
    expect(failureSite(report({ kind: 'ephmap', cpu: 2, slotCpu: 2, va: 0x888000000000 }))).toBe('kernel va, own slot');
    expect(failureSite(report({ kind: 'isolation', cpu: 2, slotCpu: 0, va: 0x888000000000 }))).toBe('kernel va, another CPU\'s slot');
    expect(failureSite(report({ kind: 'sw-walk-freed-table', swWalker: 'follow_page', swLevel: 1 }))).toBe('walker follow_page level 1');
    expect(failureSite(report({ kind: 'lock-order', va: 3, pfn: 5 }))).toBe('lock classes 3/5');
    expect(failureSite(report({ kind: 'asi-mapping', fillGen: 1 }))).toBe('expected nonsensitive');
    expect(failureSite(report({ kind: 'asi-mapping', fillGen: 0 }))).toBe('expected sensitive');
  });

  it('adds nothing for single-site kinds and for failures without a record', () => {
    expect(failureKey(report({ kind: 'readback' }), 'site')).toBe('violation:readback');
    expect(failureKey(report({ kind: 'asi-state' }), 'site')).toBe('violation:asi-state');
    const watchdog = { totals: { violations: 0, framesLost: 0 }, stoppedBy: 'watchdog', fault: '', endCheck: [], violationRecords: [] } as unknown as RunReportObject;
    expect(failureKey(watchdog, 'site')).toBe('watchdog');
    const passed = { ...watchdog, stoppedBy: 'ops' } as unknown as RunReportObject;
    expect(failureKey(passed, 'site')).toBeNull();
  });
});

// Ghost-state invariant of waited cross-CPU calls (issue 11 item 6): when
// smp_call_function_many_cond returns with wait, every target has finished
// the function. Checked on every call from the csd's ghost words, so an
// early ack or a skipped wait is reported on the call itself, not only when
// a stale translation happens to be used after its frame was reused.
// The two-thread runs (early acks under load) are in ipi-injected-bugs.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { BUG, injected } from '../../src/check/bugs.js';
import { firstViolation, resetOracle, violationCount, VIOLATION_NAMES } from '../../src/check/oracle.js';
import { IPI_FUNC_FIRST_WORKLOAD, registerIpiFunc, smpCallFunctionSingle } from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { machineOf } from '../engine/smp-machine.js';

afterEach(() => {
  injected.fill(0);
  setSpinHook(null);
});

describe('ghost check: a waited call returns only after every target ran it', () => {
  it('reports no-wait-for-ack (deterministic, one thread: the target never polls)', () => {
    const FN = IPI_FUNC_FIRST_WORKLOAD + 13;
    const cpu = machineOf(2);
    const views = cpu[0]!.views;
    resetOracle(views);
    registerIpiFunc(FN, () => {});
    injected[BUG['no-wait-for-ack']!] = 1;
    smpCallFunctionSingle(cpu[0]!, 1, FN, 0, 0, 0, 0, true);
    expect(violationCount(views)).toBe(1);
    const v = firstViolation(views)!;
    expect(VIOLATION_NAMES[v.kind]).toBe('ipi-not-run');
    expect(v.cpu).toBe(0);
    expect(v.pfn).toBe(1);
    expect(v.va).toBe(FN);
    expect(v.fillGen).toBe(1);
    expect(v.frameGen).toBe(0);
  });
});

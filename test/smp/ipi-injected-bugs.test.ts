import { afterEach, describe, expect, it } from 'vitest';
import { CSD_FLAGS, CSD_STRIDE } from '../../native-layout/fields.js';
import { BUG, injected } from '../../src/check/bugs.js';
import {
  CSD_FLAG_LOCK, IPI_FUNC_FIRST_WORKLOAD, pollIpis, registerIpiFunc, smpCallFunctionSingle,
} from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { loadEngine, testProgram } from '../engine/helpers.js';
import { machineOf } from '../engine/smp-machine.js';

const CALLS = 30;

/**
 * CPU 0 calls a 2 ms function on CPU 1 with wait, CALLS times; `early`
 * counts returns that beat the function. Every early return is also a
 * violation of the ghost check of waited calls (ipi-not-run, the records
 * naming CPU 0 as the caller and CPU 1 as the target that had not run it).
 */
async function earlyReturns(bug?: string): Promise<number> {
  const { runFree } = await loadEngine();
  const r = await runFree({
    scenario: 'ack-order', programModule: testProgram('engine-ack-order.mjs'), cpus: 2, ops: CALLS,
    options: bug ? { bug, slowMs: 2 } : { slowMs: 2 },
  });
  const s = r.perCpu[0]!.summary as { calls: number; early: number };
  expect(s.calls).toBe(CALLS);
  expect(r.totals.ipisReceived).toBe(CALLS);
  const notRun = r.violationKinds.find((k) => k.kind === 'ipi-not-run')?.count ?? 0;
  // The ghost check reads right at the wait's return, the program a moment
  // later: a function finishing in between counts only in the first.
  expect(notRun).toBeGreaterThanOrEqual(s.early);
  if (!bug) expect(notRun).toBe(0);
  expect(r.violations).toBe(notRun);
  for (const v of r.violationRecords) expect([v.kindName, v.cpu, v.pfn]).toEqual(['ipi-not-run', 0, 1]);
  return s.early;
}

afterEach(() => {
  injected.fill(0);
  setSpinHook(null);
});

describe('the ack of a waited-for IPI', () => {
  it('comes only after the remote function ran', async () => {
    expect(await earlyReturns()).toBe(0);
  });

  it('with ack-before-flush, lets a waiting initiator return before the remote function ran', async () => {
    expect(await earlyReturns('ack-before-flush')).toBeGreaterThan(0);
  });

  it('with no-wait-for-ack, is not waited for at all', async () => {
    expect(await earlyReturns('no-wait-for-ack')).toBeGreaterThan(0);
  });

  it('with ack-before-flush, is already given while the function runs (deterministic, one thread)', () => {
    const CHECK = IPI_FUNC_FIRST_WORKLOAD + 12;
    const cpu = machineOf(2);
    const heldWhileRunning: boolean[] = [];
    registerIpiFunc(CHECK, (ctx) => {
      const at = (0 * ctx.cpus + 1) * CSD_STRIDE + CSD_FLAGS;
      heldWhileRunning.push((Atomics.load(ctx.csd, at) & CSD_FLAG_LOCK) !== 0);
    });
    setSpinHook(() => pollIpis(cpu[1]!));
    smpCallFunctionSingle(cpu[0]!, 1, CHECK, 0, 0, 0, 0, true);
    injected[BUG['ack-before-flush']!] = 1;
    smpCallFunctionSingle(cpu[0]!, 1, CHECK, 0, 0, 0, 0, true);
    expect(heldWhileRunning).toEqual([true, false]);
  });
});

// A user access that keeps faulting while the fault handler reports success
// is the oracle's user-fault-loop (src/kernel/mm/uaccess.ts), and the CPU
// halts the machine instead of crashing the run. Staged here by running the
// access on a CPU whose CR3 is another mm's: the handler fixes the PTE in
// the mm it is told about, the hardware walks a root that never gets it.
import { afterEach, describe, expect, it } from 'vitest';
import { CONTROL_STOP } from '../../native-layout/fields.js';
import { HALT_STOP_ABORT, ViolationHalt } from '../../src/check/halt.js';
import { V_USER_FAULT_LOOP, VIOLATION_NAMES, firstViolation, violationCount } from '../../src/check/oracle.js';
import { MAX_FAULT_RETRIES } from '../../src/kernel/mm/uaccess.js';
import { BASE, PAGE, kernelMachine, processWith, read, resetMachineState, switchTo, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

describe('user-fault-loop', () => {
  it('an access whose fixed PTE never reaches the walked table is reported once, halts the machine and unwinds with ViolationHalt', () => {
    const m = kernelMachine(2);
    const k = m.cpu[0]!;
    const a = processWith(k, 4);
    const b = processWith(k, 4, BASE + 512); // nothing mapped at BASE in b
    switchTo(k, b);
    expect(() => write(k, a, BASE, 7)).toThrow(ViolationHalt);
    expect(violationCount(k.views)).toBe(1);
    const v = firstViolation(k.views)!;
    expect(VIOLATION_NAMES[V_USER_FAULT_LOOP]).toBe('user-fault-loop');
    expect(v).toMatchObject({ kind: V_USER_FAULT_LOOP, cpu: 0, va: BASE * PAGE, fillGen: MAX_FAULT_RETRIES, frameGen: a });
    expect(v.pfn).toBeLessThan(0); // the last fault code
    expect(Atomics.load(k.views.control, CONTROL_STOP)).toBe(HALT_STOP_ABORT);
  });

  it('the same accesses with the right mm loaded succeed and report nothing', () => {
    const m = kernelMachine(2);
    const k = m.cpu[0]!;
    const a = processWith(k, 4);
    switchTo(k, a);
    expect(write(k, a, BASE, 7)).toBeGreaterThanOrEqual(0);
    expect(read(k, a, BASE + 1)).toBeGreaterThanOrEqual(0);
    expect(violationCount(k.views)).toBe(0);
    expect(Atomics.load(k.views.control, CONTROL_STOP)).toBe(0);
  });
});

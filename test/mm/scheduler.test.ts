import { afterEach, describe, expect, it } from 'vitest';
import { INIT_MM, MM_DEAD, MM_FREE, NO_MM, TASK_FREE } from '../../native-layout/bits.js';
import { CPU_IS_LAZY, CPU_LOADED_MM, MM_COUNT, MM_STATE, MM_STRIDE } from '../../native-layout/fields.js';
import { sysExit } from '../../src/kernel/mm/exit.js';
import { activeMm, currentTask, switchToTask } from '../../src/kernel/sched/core.js';
import { dequeueTask, enqueueTask, stealTask } from '../../src/kernel/sched/rq.js';
import { taskAlloc, taskState } from '../../src/kernel/sched/task.js';
import { BASE, kernelMachine, processWith, read, resetMachineState, write } from '../tlb/kernel-machine.js';

afterEach(resetMachineState);

describe('the scheduler and address spaces', () => {
  it('a kernel thread runs lazily on the previous task\'s mm, without a CR3 write', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 1);
    const user = taskAlloc(k, a, 2, -1, -1);
    const kthread = taskAlloc(k, NO_MM, 1, 0, -1);
    switchToTask(k, user, -1);
    const root = k.mmu.cr3Root;
    switchToTask(k, kthread, 0);
    expect(k.cpuState[k.cpuAt + CPU_LOADED_MM]).toBe(a);
    expect(k.cpuState[k.cpuAt + CPU_IS_LAZY]).toBe(1);
    expect(k.mmu.cr3Root).toBe(root);
    expect(activeMm(k)).toBe(a);
    // The user task went back on the queue, and comes back without a flush.
    expect(switchToTask(k, dequeueTask(k), -1)).toBe(user);
    expect(k.cpuState[k.cpuAt + CPU_IS_LAZY]).toBe(0);
  });

  it('a migrated thread goes on with its address space on another CPU', () => {
    const { cpu } = kernelMachine(2);
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    const a = processWith(k0, 1);
    const t = taskAlloc(k0, a, 2, -1, -1);
    switchToTask(k0, t, -1);
    write(k0, a, BASE, 42);
    switchToTask(k0, -1, 1); // switched out and queued on CPU 1
    expect(stealTask(k0, 1)).toBe(t);
    enqueueTask(k0, 1, t);
    expect(switchToTask(k1, dequeueTask(k1), -1)).toBe(t);
    expect(read(k1, a, BASE) & 0xffff).toBe(42);
  });

  it('an exited task\'s mm stays loaded (and allocated) until its CPU switches to another mm', () => {
    const { cpu } = kernelMachine(1);
    const k = cpu[0]!;
    const a = processWith(k, 2);
    const t = taskAlloc(k, a, 2, -1, -1);
    const kthread = taskAlloc(k, NO_MM, 1, 0, -1);
    switchToTask(k, t, -1);
    write(k, a, BASE, 1);
    sysExit(k, t);
    expect(k.mm[a * MM_STRIDE + MM_STATE]).toBe(MM_DEAD);
    switchToTask(k, kthread, -1);
    expect(taskState(k, t)).toBe(TASK_FREE);
    expect(k.cpuState[k.cpuAt + CPU_LOADED_MM]).toBe(a);
    expect(k.mm[a * MM_STRIDE + MM_COUNT]).toBe(1);
    const b = processWith(k, 1);
    switchToTask(k, taskAlloc(k, b, 2, -1, -1), -1);
    expect(k.mm[a * MM_STRIDE + MM_STATE]).toBe(MM_FREE);
    expect(currentTask(k)).toBeGreaterThanOrEqual(0);
    expect(activeMm(k)).not.toBe(INIT_MM);
  });
});

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IPI_FUNC_FIRST_WORKLOAD, SmpCallError, flushSmpCallFunctionQueue, irqsDisabled, localIrqDisable, localIrqEnable,
  pollIpis, registerIpiFunc, smpCallFunctionSingle,
} from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { machineOf } from '../engine/smp-machine.js';

const RECORD = IPI_FUNC_FIRST_WORKLOAD + 11;
const ran: { cpu: number; irqsOff: boolean }[] = [];

beforeAll(() => {
  registerIpiFunc(RECORD, (ctx) => {
    ran.push({ cpu: ctx.cpu, irqsOff: irqsDisabled(ctx) });
  });
});
afterEach(() => {
  ran.length = 0;
  setSpinHook(null);
});

describe('the interrupt flag', () => {
  it('keeps a CPU from running IPI functions until it enables interrupts', () => {
    const cpu = machineOf(2);
    localIrqDisable(cpu[0]!);
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 0, 0, 0, 0, false);
    for (let i = 0; i < 100; i++) pollIpis(cpu[0]!);
    flushSmpCallFunctionQueue(cpu[0]!);
    expect(ran).toEqual([]);
    localIrqEnable(cpu[0]!);
    expect(ran).toEqual([{ cpu: 0, irqsOff: true }]);
    expect(irqsDisabled(cpu[0]!)).toBe(false);
  });

  it('keeps a waiting sender waiting while its target has interrupts off', () => {
    const cpu = machineOf(2);
    localIrqDisable(cpu[1]!);
    let spins = 0;
    setSpinHook(() => {
      spins++;
      pollIpis(cpu[1]!);
      if (spins === 200) localIrqEnable(cpu[1]!);
    });
    smpCallFunctionSingle(cpu[0]!, 1, RECORD, 0, 0, 0, 0, true);
    expect(spins).toBe(200);
    expect(ran).toEqual([{ cpu: 1, irqsOff: true }]);
  });

  it('refuses a cross-CPU call from a CPU with interrupts off (it could not ack a peer doing the same)', () => {
    const cpu = machineOf(2);
    localIrqDisable(cpu[0]!);
    expect(() => smpCallFunctionSingle(cpu[0]!, 1, RECORD, 0, 0, 0, 0, true)).toThrow(SmpCallError);
    expect(() => smpCallFunctionSingle(cpu[0]!, 1, RECORD, 0, 0, 0, 0, true)).toThrow(/CPU 0 .*interrupts disabled/);
  });
});

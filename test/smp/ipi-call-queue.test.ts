import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IPI_DOORBELL, IPI_STRIDE } from '../../native-layout/fields.js';
import {
  IPI_FUNC_FIRST_WORKLOAD, flushSmpCallFunctionQueue, pollIpis, registerIpiFunc, smpCallFunctionSingle,
} from '../../src/kernel/smp.js';
import { setSpinHook } from '../../src/sync/hook.js';
import { machineOf } from '../engine/smp-machine.js';

const RECORD = IPI_FUNC_FIRST_WORKLOAD + 10;
const log: string[] = [];

beforeAll(() => {
  registerIpiFunc(RECORD, (ctx, sender, tag) => {
    log.push(`${ctx.cpu}<-${sender}:${tag}`);
  });
});
afterEach(() => {
  log.length = 0;
  setSpinHook(null);
});

describe('the call queue of a CPU', () => {
  it('runs calls from different senders in the order they were queued', () => {
    const cpu = machineOf(4);
    for (const [sender, tag] of [[2, 1], [3, 2], [1, 3]] as const) {
      smpCallFunctionSingle(cpu[sender]!, 0, RECORD, sender, tag, 0, 0, false);
    }
    flushSmpCallFunctionQueue(cpu[0]!);
    expect(log).toEqual(['0<-2:1', '0<-3:2', '0<-1:3']);

    // The next batch, from the same senders in another order, keeps its own order.
    for (const [sender, tag] of [[1, 4], [3, 5], [2, 6]] as const) {
      smpCallFunctionSingle(cpu[sender]!, 0, RECORD, sender, tag, 0, 0, false);
    }
    pollIpis(cpu[0]!);
    expect(log.slice(3)).toEqual(['0<-1:4', '0<-3:5', '0<-2:6']);
  });

  it('keeps the order per target when one sender calls several CPUs', () => {
    const cpu = machineOf(3);
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 1, 1, 0, 0, false);
    smpCallFunctionSingle(cpu[0]!, 2, RECORD, 0, 2, 0, 0, false);
    smpCallFunctionSingle(cpu[2]!, 0, RECORD, 2, 3, 0, 0, false);
    smpCallFunctionSingle(cpu[1]!, 2, RECORD, 1, 4, 0, 0, false);
    pollIpis(cpu[2]!);
    pollIpis(cpu[0]!);
    expect(log).toEqual(['2<-0:2', '2<-1:4', '0<-1:1', '0<-2:3']);
  });

  it('rings the doorbell only for the push that found the queue empty', () => {
    const cpu = machineOf(4);
    const doorbell = (): number => cpu[0]!.ipi[0 * IPI_STRIDE + IPI_DOORBELL]!;
    const rung0 = doorbell();
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 1, 1, 0, 0, false);
    smpCallFunctionSingle(cpu[2]!, 0, RECORD, 2, 2, 0, 0, false);
    smpCallFunctionSingle(cpu[3]!, 0, RECORD, 3, 3, 0, 0, false);
    expect(doorbell() - rung0).toBe(1);
    pollIpis(cpu[0]!);
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 1, 4, 0, 0, false);
    expect(doorbell() - rung0).toBe(2);
    pollIpis(cpu[0]!);
    expect(log).toHaveLength(4);
  });

  it('makes a second call through the same csd wait until the target ran the first', () => {
    const cpu = machineOf(2);
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 1, 1, 0, 0, false);
    // CPU 1 is now stuck in csd_lock for its next call to CPU 0; let CPU 0
    // take its IPI only after CPU 1 has spun a while.
    let spins = 0;
    setSpinHook(() => {
      if (++spins === 50) pollIpis(cpu[0]!);
    });
    smpCallFunctionSingle(cpu[1]!, 0, RECORD, 1, 2, 0, 0, false);
    expect(spins).toBe(50);
    expect(log).toEqual(['0<-1:1']);
    pollIpis(cpu[0]!);
    expect(log).toEqual(['0<-1:1', '0<-1:2']);
  });
});

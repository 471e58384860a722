// The lockdep-style checker (src/check/lockdep.ts): each hazard reported at
// the moment it is created, on one thread with several CPUs, naming the
// CPUs and the held classes; and the allocator's ordinary paths (pcp ->
// zone, flips with interrupts on) report nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { C } from '../../native-layout/counters.js';
import { PAGEBLOCK_ORDER } from '../../native-layout/shape.js';
import { BUG, injected } from '../../src/check/bugs.js';
import {
  LOCKDEP_STOP_ABORT, LOCK_CLASS_PCP, LOCK_CLASS_ZONE, LockdepHalt, heldStackNames, lockdepReport,
} from '../../src/check/lockdep.js';
import { firstViolation, violationCount } from '../../src/check/oracle.js';
import { STOP_ABORT, localIrqRestore, localIrqSave } from '../../src/kernel/smp.js';
import { PageAllocator } from '../../src/kernel/page_alloc/index.js';
import { GFP_ATOMIC, GFP_KERNEL, __GFP_SENSITIVE } from '../../src/kernel/page_alloc/gfp.js';
import { zoneLock, zoneUnlock } from '../../src/kernel/page_alloc/zone.js';
import { allBlocksNonsensitive, asiMachine, resetAsiMachine } from './asi-machine.js';

afterEach(resetAsiMachine);

const inject = (name: string): void => {
  injected[BUG[name]!] = 1;
};

function allocCtx(k: { alloc: unknown }) {
  expect(k.alloc).toBeInstanceOf(PageAllocator);
  return (k.alloc as PageAllocator).ctx;
}

describe('lockdep', () => {
  it('uses the engine\'s abort value when it halts the machine', () => {
    expect(LOCKDEP_STOP_ABORT).toBe(STOP_ABORT);
  });

  it('the allocator\'s own paths (pcp -> zone, refills, drains, flips both ways) report nothing', () => {
    const { mem, cpu } = asiMachine(2);
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    const held: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = k0.alloc.allocPages(0, i % 4, i % 3 === 0 ? GFP_KERNEL | __GFP_SENSITIVE : GFP_KERNEL);
      if (p >= 0) held.push(p, i % 4);
    }
    for (let i = 0; i < held.length; i += 2) k0.alloc.freePages(0, held[i]!, held[i + 1]!);
    allocCtx(k1) && (k1.alloc as PageAllocator).drainAllPages(1);
    allBlocksNonsensitive(k1);
    expect(k1.alloc.allocPages(1, PAGEBLOCK_ORDER, GFP_KERNEL | __GFP_SENSITIVE)).toBeGreaterThanOrEqual(0);
    expect(violationCount(mem.views)).toBe(0);
    expect(lockdepReport(mem.views)).toBeNull();
  });

  it('lock-order: taking a pcp lock under the zone lock is reported at the acquire, naming the CPU that used pcp -> zone', () => {
    const { mem, cpu } = asiMachine(2);
    const [k0, k1] = [cpu[0]!, cpu[1]!];
    // CPU 1 frees enough to drain its pcp list: pcp -> zone, signed by cpu 1.
    const got: number[] = [];
    for (let i = 0; i < 400; i++) got.push(k1.alloc.allocPages(1, 0, GFP_KERNEL));
    for (const p of got) k1.alloc.freePages(1, p, 0);
    const ctx = allocCtx(k0);
    const saved = zoneLock(ctx, 0);
    expect(() => ctx.lockdep.acquire(0, LOCK_CLASS_PCP, false)).toThrow(LockdepHalt);
    zoneUnlock(ctx, 0, saved);
    const v = firstViolation(mem.views)!;
    expect(v.kindName).toBe('lock-order');
    expect(v.cpu).toBe(0);
    // The first CPU to use the declared order signed it (boot work may have been cpu 0's).
    expect([0, 1]).toContain(v.slotCpu);
    expect(heldStackNames(v.fillGen)).toBe('zone');
    expect(heldStackNames(v.frameGen)).toBe('pcp');
    expect(lockdepReport(mem.views)).toBe(
      `lock-order: cpu 0 took pcp while holding zone; the reverse order pcp -> zone was recorded by cpu ${v.slotCpu}, holding pcp when it took the next`,
    );
    expect(Atomics.load(mem.views.control, 0)).toBe(STOP_ABORT);
  });

  it('lock-order: a trylock under the zone lock adds no edge (it cannot wait), so it is no report', () => {
    const { mem, cpu } = asiMachine(1);
    const ctx = allocCtx(cpu[0]!);
    const saved = zoneLock(ctx, 0);
    ctx.lockdep.acquire(0, LOCK_CLASS_PCP, true);
    ctx.lockdep.release(0, LOCK_CLASS_PCP);
    zoneUnlock(ctx, 0, saved);
    expect(violationCount(mem.views)).toBe(0);
  });

  it('lock-order: a learnt cycle of two classes nobody declared is reported too', () => {
    const { mem, cpu } = asiMachine(2);
    const ctx = allocCtx(cpu[0]!);
    const ld = ctx.lockdep;
    // cpu 1: ptl (2) then rq (3); cpu 0: rq then ptl.
    ld.acquire(1, 2, false);
    ld.acquire(1, 3, false);
    ld.release(1, 3);
    ld.release(1, 2);
    ld.acquire(0, 3, false);
    expect(() => ld.acquire(0, 2, false)).toThrow(LockdepHalt);
    expect(lockdepReport(mem.views)).toMatch(/cpu 0 took ptl while holding rq; the reverse order ptl -> rq was recorded by cpu 1, holding ptl/);
  });

  it('flush-under-lock: a kernel-range shootdown inside the zone lock is reported before any IPI is sent', () => {
    const { mem, cpu } = asiMachine(2);
    const [k0] = [cpu[0]!];
    const ctx = allocCtx(k0);
    const sent = k0.counters[k0.countersAt + C.ipisSent]!;
    const saved = zoneLock(ctx, 0);
    expect(() => k0.smp.lockdep.checkWaitForAcks(0)).toThrow(LockdepHalt);
    zoneUnlock(ctx, 0, saved);
    expect(firstViolation(mem.views)!.kindName).toBe('flush-under-lock');
    expect(lockdepReport(mem.views)).toMatch(/^flush-under-lock: cpu 0 waited for IPI acks while holding zone/);
    expect(k0.counters[k0.countersAt + C.ipisSent]).toBe(sent);
  });

  it('flush-under-zone-lock: the flip back to sensitive is caught (flush-under-lock); clean, the same flip passes', () => {
    const run = (bug: boolean) => {
      const { mem, cpu } = asiMachine(2);
      const [k0, k1] = [cpu[0]!, cpu[1]!];
      allBlocksNonsensitive(k1);
      if (bug) inject('flush-under-zone-lock');
      let threw: unknown = null;
      try {
        k0.alloc.allocPages(0, PAGEBLOCK_ORDER, GFP_KERNEL | __GFP_SENSITIVE);
      } catch (e) {
        threw = e;
      }
      return { mem, threw };
    };
    const bad = run(true);
    expect(bad.threw).toBeInstanceOf(LockdepHalt);
    expect(lockdepReport(bad.mem.views)).toMatch(/flush-under-lock: cpu 0 waited for IPI acks while holding asi-flip > zone/);
    resetAsiMachine();
    const good = run(false);
    expect(good.threw).toBeNull();
    expect(violationCount(good.mem.views)).toBe(0);
  });

  it('noblock-ignored: a GFP_ATOMIC request with interrupts off enters the flip (sleep-in-atomic); clean, it is refused', () => {
    const run = (bug: boolean) => {
      const { mem, cpu } = asiMachine(1);
      const k = cpu[0]!;
      if (bug) inject('noblock-ignored');
      // Every block is sensitive at boot: a nonsensitive request needs a flip.
      const flags = localIrqSave(k.smp);
      let got = -2;
      let threw: unknown = null;
      try {
        got = k.alloc.allocPages(0, 0, GFP_ATOMIC);
      } catch (e) {
        threw = e;
      }
      // A halted machine stays halted: interrupts are not taken again.
      if (threw === null) localIrqRestore(k.smp, flags);
      return { mem, got, threw };
    };
    const bad = run(true);
    expect(bad.threw).toBeInstanceOf(LockdepHalt);
    expect(firstViolation(bad.mem.views)!.kindName).toBe('sleep-in-atomic');
    expect(lockdepReport(bad.mem.views)).toBe('sleep-in-atomic: cpu 0 entered asi-flip (may wait for other CPUs) with interrupts off, holding (none)');
    resetAsiMachine();
    const good = run(false);
    expect(good.threw).toBeNull();
    expect(good.got).toBe(-1);
    expect(violationCount(good.mem.views)).toBe(0);
  });

  it('zone-under-pcp-inversion: a drain that takes the zone lock first is caught at the pcp acquire (lock-order)', () => {
    const { mem, cpu } = asiMachine(2);
    const k1 = cpu[1]!;
    const got: number[] = [];
    for (let i = 0; i < 8; i++) got.push(k1.alloc.allocPages(1, 0, GFP_KERNEL));
    for (const p of got) k1.alloc.freePages(1, p, 0);
    inject('zone-under-pcp-inversion');
    expect(() => (k1.alloc as PageAllocator).drainAllPages(1)).toThrow(LockdepHalt);
    const v = firstViolation(mem.views)!;
    expect(v.kindName).toBe('lock-order');
    expect(v.va).toBe(LOCK_CLASS_PCP);
    expect(v.pfn).toBe(LOCK_CLASS_ZONE);
  });
});

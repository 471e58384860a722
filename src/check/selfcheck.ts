// The single-CPU self-check of a freshly booted machine: what `npm start`
// runs. Every step states an expectation about the emulated hardware or
// allocator and records whether it held, so a broken build fails loudly
// instead of printing numbers nobody can judge.

import { PTE_G, PTE_RW, PTE_US } from '../../native-layout/bits.js';
import { COUNTER_NAMES } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { createMachineMemory, type MachineMemory } from '../../native-layout/memory.js';
import type { MachineShape } from '../../native-layout/shape.js';
import { INVPCID_ADDR, INVPCID_ALL_INCL_GLOBAL, INVPCID_ALL_NON_GLOBAL, INVPCID_SINGLE_CTX, Mmu, publishThreadMmuCounters } from '../hw/mmu.js';
import { initPtSlots } from '../hw/ptstore.js';
import { FAULT_WRITE_PROTECT } from '../hw/fault.js';
import {
  mapPmd, mapPte, mapPud, pgdAlloc, pgtableEnv, splitHugePmd, unmapLeaf, type PgtableEnv,
} from '../kernel/mm/pgtable.js';
import { PageAllocator } from '../kernel/page_alloc/index.js';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_RECLAIMABLE } from '../kernel/page_alloc/gfp.js';
import { checkAllocator } from './allocator-invariants.js';
import { checkPageTables } from './pagetable-invariants.js';
import { firstViolation, resetOracle, VIOLATION_NAMES, violationCount } from './oracle.js';

export interface SelfcheckStep {
  readonly name: string;
  readonly ok: boolean;
  /** Not run on this machine size (ok is then true and says nothing). */
  readonly skipped?: boolean;
  readonly detail: string;
}

export interface SelfcheckResult {
  readonly memBytes: number;
  readonly frames: number;
  readonly ops: number;
  readonly seed: number;
  readonly steps: readonly SelfcheckStep[];
  readonly counters: Readonly<Record<string, number>>;
  readonly ok: boolean;
  readonly seconds: number;
}

const KB4 = 4096;
const MB2 = 2 * 1024 * 1024;
const GB1 = 1024 * 1024 * 1024;
const USER_VA = 0x7f0000000000;
const KERNEL_VA = 0x888000000000;
const PCID_A = 1;
const PCID_B = 2;

class Steps {
  readonly list: SelfcheckStep[] = [];
  expect(name: string, ok: boolean, detail: string): void {
    this.list.push({ name, ok, detail });
  }
  skip(name: string, why: string): void {
    this.list.push({ name, ok: true, skipped: true, detail: why });
  }
}

function must(what: string, r: number): number {
  if (r < 0) throw new Error(`selfcheck: ${what} failed with ${r}`);
  return r;
}

/** The address-space part: mappings, misses and hits, every flush form. */
function checkTranslation(mem: MachineMemory, alloc: PageAllocator, env: PgtableEnv, s: Steps): number[] {
  const mmu = new Mmu(mem, 0);
  const a = must('pgd_alloc', pgdAlloc(env, 0));
  const b = must('pgd_alloc', pgdAlloc(env, 0));
  const page = (): number => must('alloc_pages', alloc.allocPages(0, 0, GFP_HIGHUSER_MOVABLE));
  const va1 = USER_VA;
  const va2 = USER_VA + KB4;
  const fa = [page(), page()];
  const fb = [page(), page()];
  const fg = page();
  for (const [root, fr] of [[a, fa], [b, fb]] as const) {
    must('map', mapPte(env, 0, root, va1, fr[0]!, PTE_RW | PTE_US));
    must('map', mapPte(env, 0, root, va2, fr[1]!, PTE_US));
    must('map', mapPte(env, 0, root, KERNEL_VA, fg, PTE_RW | PTE_G));
  }
  // A 2 MiB and a 1 GiB mapping of real frames: the huge frame block comes
  // from the allocator at order 9; the 1 GiB leaf maps frames 0.. of memory
  // (read-only: it aliases frames the allocator owns), so memory must be at
  // least 1 GiB for it.
  const huge = must('alloc_pages order 9', alloc.allocPages(0, 9, GFP_HIGHUSER_MOVABLE));
  const va2m = USER_VA + 64 * MB2;
  must('map 2M', mapPmd(env, 0, a, va2m, huge, PTE_RW | PTE_US));
  const va1g = 0x7e0000000000;
  const has1g = mem.layout.frames * KB4 >= GB1;
  if (has1g) must('map 1G', mapPud(env, 0, a, va1g, 0, PTE_US));

  mmu.writeCr3(a, PCID_A, false);
  const miss = mmu.access(va1, false, true);
  const hits0 = mmu.tlb.countValid();
  const hit = mmu.access(va1, false, true);
  s.expect('4K miss then hit', miss === fa[0] && hit === fa[0] && hits0 >= 1, `va ${hex(va1)} -> pfn ${miss}, then from the TLB -> ${hit}`);
  const in2m = mmu.access(va2m + 5 * KB4, true, true);
  s.expect('2M mapping translates with offset', in2m === huge + 5, `va ${hex(va2m + 5 * KB4)} -> pfn ${in2m} (expected ${huge + 5})`);
  if (has1g) {
    const in1g = mmu.access(va1g + 7 * KB4, false, true);
    s.expect('1G mapping translates with offset', in1g === 7, `va ${hex(va1g + 7 * KB4)} -> pfn ${in1g} (expected 7)`);
  } else {
    s.skip('1G mapping translates with offset', 'skipped: a 1 GiB page needs --mem 1G or more');
  }
  s.expect('write to a read-only page faults', mmu.access(va2, true, true) === FAULT_WRITE_PROTECT, 'write-protect fault');

  // Fill va1/va2 under both PCIDs plus the global entry, then flush.
  const fill = (): void => {
    mmu.writeCr3(b, PCID_B, false);
    mmu.access(va1, false, true); mmu.access(va2, false, true);
    mmu.writeCr3(a, PCID_A, false);
    mmu.access(va1, false, true); mmu.access(va2, false, true); mmu.access(KERNEL_VA, false, false);
  };
  const present = (): string => [
    mmu.tlb.probe(va1, PCID_A), mmu.tlb.probe(va2, PCID_A), mmu.tlb.probe(va1, PCID_B), mmu.tlb.probe(va2, PCID_B), mmu.tlb.probe(KERNEL_VA, 99),
  ].map((p) => (p !== 0 ? '1' : '0')).join('');
  const flushCase = (name: string, flush: () => void, expected: string): void => {
    fill();
    flush();
    const got = present();
    s.expect(name, got === expected, `entries [A va1, A va2, B va1, B va2, global] = ${got}, expected ${expected}`);
  };
  flushCase('INVLPG removes one address of the current PCID and its global', () => mmu.invlpg(va1), '01111');
  flushCase('INVLPG of a global address drops the global entry', () => mmu.invlpg(KERNEL_VA), '11110');
  flushCase('INVPCID type 0 removes one address in one PCID', () => mmu.invpcid(INVPCID_ADDR, PCID_B, va2), '11101');
  flushCase('INVPCID type 1 removes a PCID, globals survive', () => mmu.invpcid(INVPCID_SINGLE_CTX, PCID_A), '00111');
  flushCase('INVPCID type 2 removes everything', () => mmu.invpcid(INVPCID_ALL_INCL_GLOBAL, 0), '00000');
  flushCase('INVPCID type 3 keeps only globals', () => mmu.invpcid(INVPCID_ALL_NON_GLOBAL, 0), '00001');
  flushCase('CR3 write with noflush keeps the new PCID', () => mmu.writeCr3(b, PCID_B, true), '11111');
  flushCase('CR3 write without noflush drops the new PCID only', () => mmu.writeCr3(b, PCID_B, false), '11001');

  // Stale translation: unmap without a flush, free and reuse the frame.
  mmu.writeCr3(a, PCID_A, true);
  mmu.access(va1, false, true);
  const before = violationCount(mem.views);
  const old = unmapLeaf(env, a, va1);
  alloc.freePages(0, old, 0);
  mmu.access(va1, false, true);
  const v = firstViolation(mem.views);
  s.expect('the oracle catches a stale TLB hit on a freed frame',
    violationCount(mem.views) === before + 1 && v !== null && v.pfn === old,
    v ? `${VIOLATION_NAMES[v.kind] ?? v.kind} on cpu ${v.cpu}, pfn ${v.pfn}, generation ${v.fillGen} -> ${v.frameGen}` : 'no violation recorded');
  mmu.invlpg(va1);
  resetOracle(mem.views);
  s.expect('after INVLPG the access faults instead', mmu.access(va1, false, true) < 0, 'not-present fault');

  // Splitting a 2 MiB leaf needs a page-table page from the allocator.
  const freeBefore = alloc.freePageCount();
  must('split', splitHugePmd(env, 0, a, va2m));
  mmu.invlpg(va2m);
  const afterSplit = mmu.access(va2m + 5 * KB4, false, true);
  s.expect('splitting a 2M mapping allocates one page table and keeps translations',
    freeBefore - alloc.freePageCount() === 1 && afterSplit === huge + 5,
    `${freeBefore - alloc.freePageCount()} frame(s) taken, va -> pfn ${afterSplit}`);
  return [a, b];
}

/** xorshift32: the self-check is reproducible from --seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** The allocator part: random operations, then every invariant, then full merge-back. */
function checkAllocatorOps(mem: MachineMemory, alloc: PageAllocator, ops: number, seed: number, roots: number[], s: Steps): void {
  const rand = prng(seed);
  const live: [number, number][] = [];
  const gfps = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE];
  let failures = 0;
  const cpus = mem.layout.shape.cpus;
  for (let i = 0; i < ops; i++) {
    const r = rand() % 100;
    if (r < 55 || live.length === 0) {
      const order = r < 45 ? rand() % 4 : rand() % 11;
      const pfn = alloc.allocPages(rand() % cpus, order, gfps[rand() % 3]!);
      if (pfn < 0) failures++;
      else live.push([pfn, order]);
    } else if (r < 99) {
      const k = rand() % live.length;
      const [pfn, order] = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      alloc.freePages(rand() % cpus, pfn, order);
    } else {
      alloc.drainAllPages(rand() % cpus);
    }
  }
  const mid = checkAllocator(mem);
  s.expect(`allocator invariants hold after ${ops} random operations`, mid.length === 0,
    mid.length === 0 ? `${live.length} blocks live, ${failures} allocations refused` : mid.slice(0, 3).map((x) => x.message).join('; '));
  const pt = checkPageTables(mem, roots);
  s.expect('page tables are consistent (reachable, no leaks, no sharing)', pt.length === 0, pt.length === 0 ? `${roots.length} address spaces` : pt.slice(0, 3).join('; '));
  for (const [pfn, order] of live) alloc.freePages(0, pfn, order);
  alloc.drainAllPages(0);
  const end = checkAllocator(mem);
  s.expect('freed blocks merge back (buddy maximality) and conservation holds', end.length === 0, end.length === 0 ? `${alloc.freePageCount()} frames free` : end.slice(0, 3).map((x) => x.message).join('; '));
}

export function runSelfcheckOn(shape: MachineShape, ops: number, seed: number): SelfcheckResult {
  const t0 = performance.now();
  const mem = createMachineMemory(shape);
  const alloc = PageAllocator.boot(mem);
  initPtSlots(mem.views.ptSlots, shape.ptPages);
  const env = pgtableEnv(mem, alloc);
  const steps = new Steps();
  steps.expect('boot: every frame is free and the allocator is consistent', checkAllocator(mem).length === 0 && alloc.freePageCount() === mem.layout.frames,
    `${alloc.freePageCount()} of ${mem.layout.frames} frames free`);
  const roots = checkTranslation(mem, alloc, env, steps);
  checkAllocatorOps(mem, alloc, ops, seed, roots, steps);
  publishThreadMmuCounters();
  const counters: Record<string, number> = {};
  COUNTER_NAMES.forEach((name, i) => {
    let sum = 0;
    for (let cpu = 0; cpu < shape.cpus; cpu++) sum += mem.views.counters[cpu * COUNTERS_STRIDE + i]!;
    counters[name] = sum;
  });
  return {
    memBytes: shape.memBytes,
    frames: mem.layout.frames,
    ops,
    seed,
    steps: steps.list,
    counters,
    ok: steps.list.every((x) => x.ok),
    seconds: (performance.now() - t0) / 1000,
  };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

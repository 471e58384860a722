// fixmap-switch: every CPU keeps a kernel page mapped in its own fixmap
// slot (a per-CPU kernel window, set with __set_fixmap, cleared with
// clear_fixmap: see kernel/mm/fixmap.ts) while it time-shares several
// single-threaded processes, switching address space at every op. Each op
// the running task touches its own pages and then the kernel reads the
// slot, so the slot's translation is cached under the PCID of every process
// the CPU runs; now and then the CPU moves the slot to a fresh frame
// (clear, free the old frame, allocate, fill, set) and reads it again.
// Asserts: the slot reads back what the CPU last put there; user pages read
// back what the task wrote.
//
// With pti=1 (the default here) kernel mappings are not global, so the
// local INVLPG of clear_fixmap reaches only the current PCID and the others
// must be flushed before their next use (invalidate_other). With pti=0 the
// slot's entries are global and the INVLPG drops them under every PCID.
//
// Options (besides the common ones, options.ts; defaults here: mode
// processes, threads 2 per CPU, pages 4, slice 1, pti 1): remapPercent
// (chance per op that the slot moves to a new frame, default 20).

import { VM_READ, VM_WRITE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import { readFrame, writeFrame } from '../../hw/frames.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { clearFixmap, fixToVirt, fixmapInit, setFixmap } from '../../kernel/mm/fixmap.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { GFP_KERNEL } from '../../kernel/page_alloc/gfp.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import { KIND_FIXMAP_SWITCH, W_ITER, W_PAGES, W_REGION, mmDomain, readbackViolation, secretOf, setTw, tw } from './common.js';
import { setupMmapError, processShape, setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNames } from './options.js';
import { MmCpu } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';
import { touchPages } from './user-ops.js';

const NAME = 'fixmap-switch';
/** Content domain of kernel data. */
const KERNEL_DOMAIN = 0;

type FixmapOptions = CommonOptions & { readonly remapPercent: number };

function options(ctx: { options: ProgramCtx['options']; cpus: number }): FixmapOptions {
  const o = commonOptions(NAME, ctx.options, ctx.cpus, {
    mode: 'processes', threads: Math.min(64, 2 * ctx.cpus), pages: 4, slice: 1, pti: 1, peekPercent: 0,
  });
  return { ...o, remapPercent: intOption(NAME, ctx.options, 'remapPercent', 20, 0, 100) };
}

/** One CPU: the scheduler loop of every mm scenario, plus this CPU's fixmap slot. */
class FixmapCpu extends MmCpu {
  private readonly remapPercent: number;
  private readonly slotVa: number;
  /** The frame the slot maps (-1: clear) and the content word it must read. */
  private slotPfn = -1;
  private slotWant = 0;
  private slotRemaps = 0;
  private slotReads = 0;

  constructor(ctx: ProgramCtx, o: FixmapOptions) {
    super(ctx, o, PROGRAMS);
    this.remapPercent = o.remapPercent;
    this.slotVa = fixToVirt(ctx.cpu);
  }

  /** The kernel side of an op: maybe move the slot to a new frame, then read through it. */
  useSlot(tid: number): void {
    if (this.slotPfn < 0 || this.rng.below(100) < this.remapPercent) this.remap();
    if (this.slotPfn < 0) return;
    const got = this.k.mmu.read(this.slotVa, false);
    this.slotReads++;
    if (got !== this.slotWant) readbackViolation(this.k, tid, this.op, this.slotVa, this.slotWant, got);
  }

  /** clear_fixmap, free the old frame (only now: its translations are gone), then fill a new one and set it. */
  private remap(): void {
    const k = this.k;
    this.release();
    const pfn = k.alloc.allocPages(k.cpu, 0, GFP_KERNEL);
    if (pfn < 0) {
      this.stats.oom++;
      return;
    }
    writeFrame(k.frame, pfn, KERNEL_DOMAIN, 1 + this.rng.below(0xfffe));
    this.slotWant = readFrame(k.frame, pfn);
    setFixmap(k, k.cpu, pfn);
    this.slotPfn = pfn;
    this.slotRemaps++;
  }

  private release(): void {
    if (this.slotPfn < 0) return;
    const k = this.k;
    clearFixmap(k, k.cpu);
    k.alloc.freePages(k.cpu, this.slotPfn, 0);
    this.slotPfn = -1;
  }

  /** The slot goes with the run: clear it and free its frame before the end-of-run check. */
  endOps(): void {
    this.release();
  }

  override finish(): Record<string, unknown> {
    return { ...super.finish(), slotRemaps: this.slotRemaps, slotReads: this.slotReads };
  }
}

function fixmapSwitchStep(k: KernelCtx, tid: number, cpu: MmCpu): void {
  const mm = taskMm(k, tid);
  const iter = tw(k, tid, W_ITER);
  touchPages(k, cpu, tid, mm, tw(k, tid, W_REGION), tw(k, tid, W_PAGES), mmDomain(k, mm), (i) => secretOf(tid, iter, i));
  setTw(k, tid, W_ITER, iter + 1);
  (cpu as FixmapCpu).useSlot(tid);
}

const PROGRAMS = mmPrograms({ [KIND_FIXMAP_SWITCH]: fixmapSwitchStep });

export const fixmapSwitch: Scenario = {
  name: NAME,
  description: 'each CPU remaps a per-CPU fixmap slot while switching between processes at every op (pti=1: non-global kernel mappings)',
  memBytes: 16 * 2 ** 20,
  optionNames: mmOptionNames('remapPercent'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    const { procs, threads } = processShape(o);
    const plan = {
      threads,
      kindOf: () => KIND_FIXMAP_SWITCH,
      init: (k: KernelCtx, tid: number, mm: number) => {
        const r = sysMmap(k, mm, tw(k, tid, W_REGION), tw(k, tid, W_PAGES), VM_READ | VM_WRITE);
        if (r < 0) throw setupMmapError(NAME, 'a process region', r, k);
      },
    };
    setupMmMachine(ctx, NAME, o, Array.from({ length: procs }, () => plan), o.pages, 1, fixmapInit);
  },
  create(ctx: ProgramCtx): CpuProgram {
    return new FixmapCpu(ctx, options(ctx));
  },
  endCheck: checkMachineAtEnd,
};

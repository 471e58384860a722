// hugetlb-share: processes map one hugetlbfs file MAP_SHARED over the same
// 1 GiB-aligned range, so they share its PMD table (src/kernel/mm/hugetlb.ts),
// write and read back their own 4 KiB of every huge page through it, and
// munmap and map it again in a loop: a process leaving while others still
// share the table unshares it, clearing its own PUD entry only. After the
// munmap the process reads one of the pages again and must fault: a
// translation its CPUs kept through the table it left (the whole PUD range
// must be flushed, a4a118f2eead) would still answer.
//
// Options: procs (CPUs - 1 by default, from 2 to 32; one thread each, a CPU
// left to the lazy kernel thread; mode, threads and pages are not options
// here), hugePages (4: the file's 2 MiB pages, preallocated
// at set-up), holdSteps (2: touch steps between a map and its munmap).
// Asserts: each page reads back what this process wrote; an unmapped page
// faults (`unmapped-access` otherwise). Summary: `hugetlbMaps`.

import { MM_SPEC_CHUNKS, MM_SPEC_PAGES, MM_SPEC_START, MM_STATE, MM_STRIDE } from '../../../native-layout/fields.js';
import { MM_LIVE } from '../../../native-layout/bits.js';
import { checkMachineAtEnd } from '../../check/machine-check.js';
import type { KernelCtx } from '../../kernel/ctx.js';
import { HPAGE_PAGES, PUD_PAGES, VM_HUGETLB_SHARED, hugetlbFileInit, hugetlbFilePages } from '../../kernel/mm/hugetlb.js';
import { sysMmap } from '../../kernel/mm/mmap.js';
import { sysMunmap } from '../../kernel/mm/munmap.js';
import { taskMm } from '../../kernel/sched/task.js';
import type { CpuProgram, ProgramCtx, Scenario, SetupCtx } from '../program.js';
import { KIND_HUGETLB_SHARER, W_AUX0, W_ITER, W_PHASE, mmDomain, secretOf, setTw, tw } from './common.js';
import { setupMmMachine } from './machine.js';
import { type CommonOptions, ScenarioOptionError, commonOptions, intOption, mmOptionNamesWithout } from './options.js';
import { MmCpu } from './runner.js';
import { mmPrograms } from './tlb-flush2.js';
import { expectSegv, touchPages } from './user-ops.js';

const NAME = 'hugetlb-share';
/** Where every process maps the file: 128 GiB, 1 GiB aligned, clear of the other scenarios' chunks. */
export const HUGE_BASE_VPN = 0x2000000;
const PH_MAP = 0;
const PH_TOUCH = 1;
const PH_UNMAP = 2;

interface HugetlbShareOptions extends CommonOptions {
  readonly hugePages: number;
  readonly holdSteps: number;
}

/** One thread per process, each touching its own page of each huge page: not options here. */
const FIXED = ['mode', 'threads', 'pages'] as const;

const options = (ctx: { options: ProgramCtx['options']; cpus: number }): HugetlbShareOptions => ({
  ...commonOptions(NAME, ctx.options, ctx.cpus, { mode: 'threads', procs: Math.min(32, Math.max(2, ctx.cpus - 1)), threads: 1, slice: 1 }, FIXED),
  hugePages: intOption(NAME, ctx.options, 'hugePages', 4, 1, 8),
  holdSteps: intOption(NAME, ctx.options, 'holdSteps', 2, 1, 1000),
});

/** This process's 4 KiB of every huge page: its pid picks the subpage, so no two processes write the same frame. */
function subpage(k: KernelCtx, mm: number): number {
  return mmDomain(k, mm) % HPAGE_PAGES;
}

export function hugetlbShareStep(k: KernelCtx, tid: number, cpu: MmCpu, hugePages: number, holdSteps: number): void {
  const mm = taskMm(k, tid);
  const iter = tw(k, tid, W_ITER);
  const domain = mmDomain(k, mm);
  const sub = subpage(k, mm);
  const phase = tw(k, tid, W_PHASE);
  if (phase === PH_MAP) {
    if (sysMmap(k, mm, HUGE_BASE_VPN, PUD_PAGES, VM_HUGETLB_SHARED) === 0) {
      cpu.stats.hugetlbMaps++;
      setTw(k, tid, W_AUX0, 0);
      setTw(k, tid, W_PHASE, PH_TOUCH);
    }
  } else if (phase === PH_TOUCH) {
    // One page per huge page, this process's own: written and read back.
    for (let j = 0; j < hugePages; j++) {
      touchPages(k, cpu, tid, mm, HUGE_BASE_VPN + j * HPAGE_PAGES + sub, 1, domain, () => secretOf(tid, iter, j));
    }
    const held = tw(k, tid, W_AUX0) + 1;
    setTw(k, tid, W_AUX0, held);
    if (held >= holdSteps) setTw(k, tid, W_PHASE, PH_UNMAP);
  } else {
    sysMunmap(k, mm, HUGE_BASE_VPN, PUD_PAGES);
    cpu.stats.munmaps++;
    expectSegv(k, cpu, tid, mm, HUGE_BASE_VPN + (iter % hugePages) * HPAGE_PAGES + sub);
    setTw(k, tid, W_ITER, iter + 1);
    setTw(k, tid, W_PHASE, PH_MAP);
  }
}

export const hugetlbShare: Scenario = {
  name: NAME,
  description: 'processes map one hugetlbfs file over the same 1 GiB range, sharing its PMD table, and unmap and map it again; an unmapped page must fault',
  memBytes: 32 * 2 ** 20,
  optionNames: mmOptionNamesWithout(FIXED, 'hugePages', 'holdSteps'),
  setup(ctx: SetupCtx): void {
    const o = options(ctx);
    if (o.procs < 2) throw new ScenarioOptionError(`${NAME} option procs=${o.procs} is invalid: use 2 or more processes (one alone shares no table)`);
    const plan = { threads: 1, kindOf: () => KIND_HUGETLB_SHARER };
    const k = setupMmMachine(ctx, NAME, o, Array.from({ length: o.procs }, () => plan), HPAGE_PAGES, 1);
    if (hugetlbFileInit(k, o.hugePages) < o.hugePages) {
      throw new ScenarioOptionError(`${NAME}: no memory for ${o.hugePages} huge pages of 2 MiB: lower --option hugePages or raise --mem`);
    }
    // The CPUs' speculative walks go where the processes work: the huge pages.
    for (let mm = 1; mm < k.maxMms; mm++) {
      if (k.mm[mm * MM_STRIDE + MM_STATE] !== MM_LIVE) continue;
      k.mm[mm * MM_STRIDE + MM_SPEC_START] = HUGE_BASE_VPN;
      k.mm[mm * MM_STRIDE + MM_SPEC_PAGES] = HPAGE_PAGES;
      k.mm[mm * MM_STRIDE + MM_SPEC_CHUNKS] = 1;
    }
  },
  create(ctx: ProgramCtx): CpuProgram {
    const o = options(ctx);
    const step = (k: KernelCtx, tid: number, cpu: MmCpu): void => hugetlbShareStep(k, tid, cpu, hugetlbFilePages(k.views.hugetlb), o.holdSteps);
    return new MmCpu(ctx, o, mmPrograms({ [KIND_HUGETLB_SHARER]: step }));
  },
  endCheck: checkMachineAtEnd,
};

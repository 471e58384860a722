// The CPU program of the shootdown-latency bench (loaded by the free engine
// as a programModule). CPU 0 is the initiator: each op is one single-page
// shootdown, an INVLPG on itself and a synchronous IPI to every other CPU
// whose handler INVLPGs the same page (the IPI-and-ack core of
// flush_tlb_mm_range for one page on an mm every CPU runs,
// arch/x86/mm/tlb.c), timed one by one. The other CPUs idle in the IPI
// idle loop, as CPUs running the mm but not touching memory would.

import { Mmu } from '../src/hw/mmu.js';
import {
  CSD_SPIN_BEFORE_PARK, IPI_FUNC_FIRST_WORKLOAD, SCF_WAIT, pollIpis, registerIpiFunc, smpCallFunctionManyCond,
  smpIdleWait,
} from '../src/kernel/smp.js';
import type { CpuProgram, ProgramCtx } from '../src/workloads/program.js';

/** IPI function id of the bench's flush (a workload id: the kernel's own ids stay free). */
const BENCH_FLUSH_FUNC = IPI_FUNC_FIRST_WORKLOAD + 7;
const VA = 0x7f0000000000;
const VA_SPLIT = 2 ** 32;
/** Latencies kept per run (a run is seconds long; the initiator stops recording past this). */
const MAX_SAMPLES = 1 << 20;

let mmu: Mmu | null = null;

function benchFlush(_ctx: unknown, lo: number, hi: number): void {
  mmu!.invlpg(hi * VA_SPLIT + (lo >>> 0));
}

class ShootdownProgram implements CpuProgram {
  private readonly mask = new Int32Array(2);
  private readonly samples: Float64Array;
  private n = 0;

  constructor(private readonly ctx: ProgramCtx) {
    mmu = new Mmu(ctx.mem, ctx.cpu);
    registerIpiFunc(BENCH_FLUSH_FUNC, benchFlush);
    for (let c = 0; c < ctx.cpus; c++) if (c !== ctx.cpu) this.mask[c >>> 5] |= 1 << (c & 31);
    this.samples = new Float64Array(ctx.cpu === 0 ? MAX_SAMPLES : 0);
  }

  step(): void {
    const smp = this.ctx.smp;
    if (this.ctx.cpu !== 0) {
      smpIdleWait(smp, CSD_SPIN_BEFORE_PARK);
      return;
    }
    const t0 = performance.now();
    mmu!.invlpg(VA);
    if (this.ctx.cpus > 1) {
      smpCallFunctionManyCond(smp, this.mask, 0, BENCH_FLUSH_FUNC, VA % VA_SPLIT | 0, (VA / VA_SPLIT) | 0, 0, 0, SCF_WAIT, null);
    }
    const dt = performance.now() - t0;
    if (this.n < MAX_SAMPLES) this.samples[this.n++] = dt;
  }

  poll(): void {
    pollIpis(this.ctx.smp);
  }

  finish(): Record<string, unknown> {
    return this.ctx.cpu === 0 ? { samplesMs: Array.from(this.samples.subarray(0, this.n)) } : {};
  }
}

export function createCpuProgram(ctx: ProgramCtx): CpuProgram {
  return new ShootdownProgram(ctx);
}

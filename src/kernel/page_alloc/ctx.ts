// What every allocator function works on: the SAB views of one machine plus
// its fixed configuration. Built once per CPU worker; it holds no allocator
// state of its own (all of that is in the shared views), only a scratch word.

import type { MachineMemory } from '../../../native-layout/memory.js';
import { Lockdep } from '../../check/lockdep.js';
import { traceRings, type TraceRing } from '../../trace/ring.js';
import { type AsiFlipOps, rmqueueFlip } from './flip.js';
import type { RmqueueFlip } from '../design/types.js';
import type { UnmappedOps } from './unmapped.js';

export interface AllocatorOptions {
  /**
   * ASI on: requests without __GFP_SENSITIVE use the nonsensitive lane.
   * Every CPU attached to one machine must pass the same value.
   */
  readonly asi?: boolean;
}

export interface AllocCtx {
  readonly frame: Int32Array;
  readonly pageblock: Int32Array;
  readonly zone: Int32Array;
  readonly pcp: Int32Array;
  readonly cpu: Int32Array;
  readonly counters: Float64Array;
  readonly frames: number;
  readonly cpus: number;
  readonly asi: boolean;
  /** __rmqueue's mode, carried across one rmqueue_bulk (thread-private scratch). */
  readonly rmqMode: Int32Array;
  /** Trace ring writers by CPU (alloc and free events). */
  readonly trace: readonly TraceRing[];
  /**
   * ASI: the kernel's side of the sensitivity flip (physmap writes,
   * shootdown, mapping checks), installed once the physmap exists
   * (src/kernel/asi/flip-ops.ts). null: no flips and no mapping checks
   * (ASI off, or an allocator tested on its own).
   */
  asiOps: AsiFlipOps | null;
  /** The sensitivity-flip policy (src/kernel/design/types.ts FlipPolicy): __rmqueue_asi unless a design replaces it. */
  flip: RmqueueFlip;
  /** lockdep: held classes of zone, pcp and flip sections (src/check/lockdep.ts). */
  readonly lockdep: Lockdep;
  /**
   * The kernel's side of unmapped allocations (direct-map writes, the
   * shootdown, the audit; src/kernel/asi/unmapped-ops.ts), installed at CPU
   * bring-up. null: __GFP_UNMAPPED requests fail.
   */
  unmappedOps: UnmappedOps | null;
}

export function makeCtx(mem: MachineMemory, opts: AllocatorOptions = {}): AllocCtx {
  const v = mem.views;
  return {
    frame: v.frame,
    pageblock: v.pageblock,
    zone: v.zone,
    pcp: v.pcp,
    cpu: v.cpu,
    counters: v.counters,
    frames: mem.layout.frames,
    cpus: mem.layout.shape.cpus,
    asi: opts.asi ?? false,
    rmqMode: new Int32Array(1),
    trace: traceRings(mem),
    asiOps: null,
    flip: rmqueueFlip,
    lockdep: new Lockdep(v),
    unmappedOps: null,
  };
}

// INVLPGB / TLBSYNC (AMD APM vol. 3), modelled as remote invalidation
// requests that the owner CPU applies before its next TLB access (SEMANTICS
// §1: only the owner mutates its TLB, so a broadcast cannot reach into other
// TLBs directly).
//
// Slots: one per (issuer, target) pair in the invlpgb region, one request in
// flight per pair (an issuer that finds its previous request to that target
// not yet applied waits for it: the hardware's back-pressure). A request is
// {tag, first vpn, pages, flags}; the issuer writes the fields, then bumps
// seq (release), then the target's pending count. The target, on its access
// path (one load and a compare when nothing is pending) and at its IPI poll
// points, applies every slot whose seq moved past done, and publishes done =
// seq. TLBSYNC on the issuer completes when done == seq for every slot IT
// issued into: other CPUs' requests are not waited for.
//
// The tag names an address space. With INVLPGB_PCID it is a PCID, the same
// on every CPU (a global ASID's). Otherwise the target resolves it to PCIDs
// through a resolver its owner installs (Mmu.setInvlpgbResolver): by
// default the tag is the PCID itself; the kernel maps an mm's ctx id to the
// PCIDs the CPU runs it under (mms without a global ASID, see
// src/kernel/tlb/invlpgb.ts).

import {
  INVLPGB_DONE as INVLPGB_DONE_, INVLPGB_FLAGS as INVLPGB_FLAGS_, INVLPGB_PAGES as INVLPGB_PAGES_, INVLPGB_PENDING as INVLPGB_PENDING_,
  INVLPGB_PENDING_STRIDE as INVLPGB_PENDING_STRIDE_, INVLPGB_SEQ as INVLPGB_SEQ_, INVLPGB_STRIDE as INVLPGB_STRIDE_, INVLPGB_TAG as INVLPGB_TAG_,
  INVLPGB_VPN_HI as INVLPGB_VPN_HI_, INVLPGB_VPN_LO as INVLPGB_VPN_LO_,
} from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { apicWakeIfHalted } from './apic.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const INVLPGB_DONE = INVLPGB_DONE_, INVLPGB_FLAGS = INVLPGB_FLAGS_, INVLPGB_PAGES = INVLPGB_PAGES_, INVLPGB_PENDING = INVLPGB_PENDING_,
  INVLPGB_PENDING_STRIDE = INVLPGB_PENDING_STRIDE_, INVLPGB_SEQ = INVLPGB_SEQ_, INVLPGB_STRIDE = INVLPGB_STRIDE_, INVLPGB_TAG = INVLPGB_TAG_,
  INVLPGB_VPN_HI = INVLPGB_VPN_HI_, INVLPGB_VPN_LO = INVLPGB_VPN_LO_;

/** Drop every non-global entry of the tag's PCIDs (the range is ignored). */
export const INVLPGB_ALL = 1;
/** The range's stride is 2 MiB (pages counts 2 MiB pages); otherwise 4 KiB. */
export const INVLPGB_STRIDE_2M = 2;
/**
 * Every PCID, not the tag's (the instruction without the PCID/ASID-valid
 * bits): kernel ranges, and the "all non-global" flush of reclaim batches.
 */
export const INVLPGB_ANY_PCID = 4;
/** Global entries too (INVLPGB_FLAG_INCLUDE_GLOBAL): kernel mappings. */
export const INVLPGB_INCLUDE_GLOBAL = 8;
/**
 * The tag is a PCID, used as is on every CPU (a global ASID's kPCID:
 * INVLPGB with the PCID-valid bit), not an address space the target's
 * resolver maps to PCIDs.
 */
export const INVLPGB_PCID = 16;
/**
 * With INVLPGB_PCID: the tag's PTI user PCID too (tag | the user bit).
 * Linux issues a second INVLPGB for it (invlpgb_flush_user_nr_nosync of
 * user_pcid() in broadcast_tlb_flush); one request stands for both here.
 */
export const INVLPGB_USER_PCID = 32;

export class InvlpgbPort {
  readonly cpu: number;
  readonly cpus: number;
  private readonly slots: Int32Array;
  private readonly pend: Int32Array;
  private readonly ipi: Int32Array;
  /** Where this CPU's pending count sits. */
  readonly pendingAt: number;

  constructor(mem: MachineMemory, cpu: number) {
    this.cpu = cpu;
    this.cpus = mem.layout.shape.cpus;
    this.slots = mem.views.invlpgb;
    this.pend = mem.views.invlpgbPending;
    this.ipi = mem.views.ipi;
    this.pendingAt = cpu * INVLPGB_PENDING_STRIDE + INVLPGB_PENDING;
  }

  private slotAt(issuer: number, target: number): number {
    return (issuer * this.cpus + target) * INVLPGB_STRIDE;
  }

  // ---- issuer side ---------------------------------------------------------------

  /** Can this CPU write a new request for target now (its previous one was applied)? */
  slotFree(target: number): boolean {
    const at = this.slotAt(this.cpu, target);
    return Atomics.load(this.slots, at + INVLPGB_DONE) === this.slots[at + INVLPGB_SEQ];
  }

  /**
   * Writes one request into target's slot from this CPU. The caller has
   * checked slotFree(target) (else the previous request would be lost).
   */
  post(target: number, tag: number, vpn: number, pages: number, flags: number): void {
    const s = this.slots;
    const at = this.slotAt(this.cpu, target);
    s[at + INVLPGB_TAG] = tag;
    s[at + INVLPGB_VPN_LO] = vpn % 2 ** 32 | 0;
    s[at + INVLPGB_VPN_HI] = (vpn / 2 ** 32) | 0;
    s[at + INVLPGB_PAGES] = pages;
    s[at + INVLPGB_FLAGS] = flags;
    Atomics.store(s, at + INVLPGB_SEQ, (s[at + INVLPGB_SEQ]! + 1) | 0);
    Atomics.add(this.pend, target * INVLPGB_PENDING_STRIDE + INVLPGB_PENDING, 1);
    // A halted CPU takes the request when it wakes; wake it now rather than
    // at its park timeout.
    apicWakeIfHalted(this.ipi, target);
  }

  /** TLBSYNC's condition: every request this CPU issued has been applied by its target. */
  synced(): boolean {
    for (let t = 0; t < this.cpus; t++) {
      if (t === this.cpu) continue;
      const at = this.slotAt(this.cpu, t);
      if (Atomics.load(this.slots, at + INVLPGB_DONE) !== this.slots[at + INVLPGB_SEQ]) return false;
    }
    return true;
  }

  /** Requests of `issuer` not yet applied by their targets (tests, TLBSYNC as another CPU). */
  inFlightFrom(issuer: number): number {
    let n = 0;
    for (let t = 0; t < this.cpus; t++) {
      const at = this.slotAt(issuer, t);
      if (Atomics.load(this.slots, at + INVLPGB_DONE) !== Atomics.load(this.slots, at + INVLPGB_SEQ)) n++;
    }
    return n;
  }

  // ---- target side ------------------------------------------------------------------

  /** Any request for this CPU not yet applied? (the hot-path check) */
  pending(): boolean {
    return Atomics.load(this.pend, this.pendingAt) !== 0;
  }

  /**
   * Calls apply(tag, vpn, pages, flags) for every request waiting for this
   * CPU, then acks it. The owner CPU only.
   */
  drain(apply: (tag: number, vpn: number, pages: number, flags: number) => void): number {
    const s = this.slots;
    let n = 0;
    for (let i = 0; i < this.cpus; i++) {
      if (i === this.cpu) continue;
      const at = this.slotAt(i, this.cpu);
      const seq = Atomics.load(s, at + INVLPGB_SEQ);
      if (seq === s[at + INVLPGB_DONE]) continue;
      apply(s[at + INVLPGB_TAG]!, (s[at + INVLPGB_VPN_LO]! >>> 0) + s[at + INVLPGB_VPN_HI]! * 2 ** 32,
        s[at + INVLPGB_PAGES]!, s[at + INVLPGB_FLAGS]!);
      Atomics.store(s, at + INVLPGB_DONE, seq);
      Atomics.sub(this.pend, this.pendingAt, 1);
      // The issuer may sleep in TLBSYNC: ring it (only if it is halted).
      apicWakeIfHalted(this.ipi, i);
      n++;
    }
    return n;
  }
}

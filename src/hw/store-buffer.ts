// One CPU's store buffer, as x86-TSO has it (Sewell et al., "x86-TSO", CACM
// 2010; Intel SDM vol. 3A §9.2.2): a plain store goes into a private FIFO and
// reaches memory later; the CPU's own loads see it at once (store-to-load
// forwarding), everybody else only after it leaves the buffer. That is the
// one reordering x86 allows: a store followed by a load of another word may
// complete in the order load, store. The emulator's host stores cannot show
// it (Atomics.store is sequentially consistent, and a plain typed-array store
// on the host has no such promise we could steer), so the buffer holds the
// store back itself until a drain point:
//
// - drain(): a full barrier. smp_mb() (MFENCE / a locked instruction), any
//   atomic read-modify-write (LOCK-prefixed: set_bit, atomic64_inc_return),
//   an XCHG-class store (what a JS seq-cst store is on x86), interrupt entry.
//   The buffer is empty before the next instruction, whatever it holds.
// - serialize(): a serializing instruction (MOV to CR3, INVLPG, INVPCID) also
//   waits for the buffer to drain, but the stores it finds there may take a
//   while to commit (a read-for-ownership of a line another CPU just read
//   costs a cross-core round trip). drainDelayNs models that: the buffered
//   stores stay invisible that long before they commit. It only matters when
//   the buffer is non-empty at a serializing instruction, i.e. when no fence
//   came first; code whose fences are all in place never waits.
//
// Only the words the kernel model routes through store() are buffered (the
// plain per-CPU stores of switch_mm_irqs_off that flushers read racily);
// every other access goes straight to memory as before. The buffer lives in
// the CPU's own thread, in preallocated typed arrays: no allocation.

import { hardwareDelayNs } from '../sync/hook.js';

/** Entries a buffer holds; a full buffer commits its oldest store first (the CPU stalls on it). */
export const STORE_BUFFER_ENTRIES = 8;
const MASK = STORE_BUFFER_ENTRIES - 1;

export class StoreBuffer {
  /** The memory the buffered stores target (one word array: the kernel's per-CPU region). */
  private readonly mem: Int32Array;
  private readonly index = new Int32Array(STORE_BUFFER_ENTRIES);
  private readonly value = new Int32Array(STORE_BUFFER_ENTRIES);
  private head = 0;
  private n = 0;
  /** Host nanoseconds buffered stores stay invisible at a serializing instruction (see the header). */
  drainDelayNs = 0;
  /**
   * Test hook: runs at every serialize(), before the buffered stores commit,
   * so a scripted interleaving can act inside that window. Null in runs.
   */
  serializeHook: (() => void) | null = null;
  /** Stores that went through the buffer, and drains that found it non-empty. */
  buffered = 0;
  delayedDrains = 0;

  constructor(mem: Int32Array) {
    this.mem = mem;
  }

  get pending(): number {
    return this.n;
  }

  /** A plain store to mem[i]: invisible to other CPUs until it commits. */
  store(i: number, v: number): void {
    if (this.n === STORE_BUFFER_ENTRIES) this.commitOldest();
    const slot = (this.head + this.n) & MASK;
    this.index[slot] = i;
    this.value[slot] = v;
    this.n++;
    this.buffered++;
  }

  /** A plain load of mem[i] by this CPU: the newest buffered store to it, else memory. */
  load(i: number): number {
    for (let k = this.n - 1; k >= 0; k--) {
      const slot = (this.head + k) & MASK;
      if (this.index[slot] === i) return this.value[slot]!;
    }
    return this.mem[i]!;
  }

  /** The oldest buffered store reaches memory (the buffer drains on its own, in order). */
  commitOldest(): boolean {
    if (this.n === 0) return false;
    const slot = this.head;
    Atomics.store(this.mem, this.index[slot]!, this.value[slot]!);
    this.head = (slot + 1) & MASK;
    this.n--;
    return true;
  }

  /** A full barrier: every buffered store is visible before the next instruction. */
  drain(): void {
    while (this.n > 0) this.commitOldest();
  }

  /** A serializing instruction: drain, after drainDelayNs when stores are still buffered. */
  serialize(): void {
    if (this.serializeHook !== null) this.serializeHook();
    if (this.n === 0) return;
    if (this.drainDelayNs > 0) {
      this.delayedDrains++;
      // The commit is in flight: other CPUs still read the old values.
      hardwareDelayNs(this.drainDelayNs);
    }
    this.drain();
  }
}

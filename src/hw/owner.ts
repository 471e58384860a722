// Which simulated CPU this thread is. A CPU worker binds itself once at start;
// from then on per-CPU hardware state (TLB, paging-structure cache, CR3) may
// only be mutated for that CPU. Another CPU that wants an entry gone must ask
// the owner (an IPI), as on real hardware, where no CPU can touch another's TLB.
// Like QEMU's cputlb.c, the rule is written down here and asserted on every
// mutation (cheap: one compare against a module variable; lookups do not check).
//
// An unbound thread (the main thread in tests and tools) may act as any CPU.

let boundCpu = -1;

export function bindThreadToCpu(cpu: number): void {
  if (boundCpu !== -1 && boundCpu !== cpu) {
    throw new OwnershipError(`this thread already runs CPU ${boundCpu}; cannot bind it to CPU ${cpu}`);
  }
  boundCpu = cpu;
}

/** Test hook: forget the binding (a worker never calls this). */
export function unbindThread(): void {
  boundCpu = -1;
}

export function assertOwner(cpu: number, what: string): void {
  if (boundCpu !== -1 && boundCpu !== cpu) {
    throw new OwnershipError(`CPU ${boundCpu} tried to ${what} of CPU ${cpu}: only the owner mutates its TLB`);
  }
}

export class OwnershipError extends Error {
  override name = 'OwnershipError';
}

import { afterEach, describe, expect, it } from 'vitest';
import { OwnershipError, bindThreadToCpu, unbindThread } from '../../src/hw/owner.js';
import { twoAddressSpaces } from './helpers.js';

describe('TLB ownership', () => {
  afterEach(() => unbindThread());

  it('only the owner CPU mutates its TLB; any CPU may when the thread is unbound', () => {
    const s = twoAddressSpaces();
    bindThreadToCpu(1);
    expect(() => s.mmu(0).invlpg(s.va1)).toThrow(OwnershipError);
    expect(() => s.mmu(0).flushTlbAll()).toThrow(OwnershipError);
    expect(() => s.mmu(0).access(s.va1 + 0x10000000, false, true)).toThrow(OwnershipError);
    expect(() => s.mmu(1).invlpg(s.va1)).not.toThrow();
    unbindThread();
    expect(() => s.mmu(0).invlpg(s.va1)).not.toThrow();
  });

  it('a thread runs one CPU for good', () => {
    bindThreadToCpu(0);
    expect(() => bindThreadToCpu(1)).toThrow(OwnershipError);
  });
});

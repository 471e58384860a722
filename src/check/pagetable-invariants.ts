// Page-table structure, checked at a quiescent point (no CPU mutating tables):
// - every table reachable from the roots is an FS_PAGETABLE frame with a valid
//   store slot of its own, and no slot is also on the free stack;
// - no table is reachable twice, except the kernel half: every PGD points at
//   init_mm's kernel-half tables (pgd_ctor), so those are shared by design;
//   and hugetlb's shared PMD tables, linked once per reference they hold;
// - leaves point inside memory and huge leaves are aligned to their size;
//   PS is never set in a PML4 entry;
// - every FS_PAGETABLE frame is reachable (none leaked), and every store slot
//   is either free or owned by exactly one of them.
// Returns one line per problem; empty means healthy.

import { FRAME_STATE_MASK, FS_PAGETABLE, PTE_P, PTE_PS, PT_ENTRIES } from '../../native-layout/bits.js';
import { FRAME_STRIDE, FR_FLAGS, FR_PRIVATE, FR_REFCOUNT } from '../../native-layout/fields.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { entryWord, freePtSlotList } from '../hw/ptstore.js';
import { LEVEL_FRAMES, LEVEL_SIZE, ptePfn } from '../hw/pte.js';
import { msharedTables } from './mshare-tables.js';

const MAX_PROBLEMS = 100;

export function checkPageTables(mem: MachineMemory, roots: readonly number[], sharedRoots: readonly number[] = []): string[] {
  const { frame, ptStore: pt, ptSlots } = mem.views;
  const frames = mem.layout.frames;
  const ptPages = mem.layout.shape.ptPages;
  const problems: string[] = [];
  const report = (msg: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };
  const hex = (va: number): string => `0x${va.toString(16)}`;

  const reached = new Uint8Array(frames);
  /** How many entries (outside the kernel half) link each table. */
  const links = new Int32Array(frames);
  /** Frame that owns each slot (reached tables), -1 none. */
  const slotOwner = new Int32Array(ptPages).fill(-1);
  let reachedCount = 0;

  // Iterative DFS: (table pfn, level, va of its first entry, where it was
  // linked from, linked from a kernel-half PGD entry).
  // Roots whose every entry points at tables some other root owns (an mm's
  // nonsensitive PGD, src/kernel/asi/space.ts): their children may be
  // reached twice, like kernel-half ones. At the bottom of the stack, so the
  // owning roots (and all below them) are walked first.
  const shared = new Set(sharedRoots);
  // mshare (issue 8): a region's PMD table is linked from its host's PUD
  // table and from every client's, by design.
  const mshared = msharedTables(mem);
  const stack: Array<[number, number, number, string, boolean]> = [
    ...sharedRoots.map((r, i): [number, number, number, string, boolean] => [r, 4, 0, `shared root #${i}`, false]),
    ...roots.map((r, i): [number, number, number, string, boolean] => [r, 4, 0, `root #${i}`, false]),
  ];
  while (stack.length > 0) {
    const [pfn, level, baseVa, from, kernelTop] = stack.pop()!;
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= frames) {
      report(`${from}: table pfn ${pfn} is outside memory (0..${frames - 1})`);
      continue;
    }
    if (!kernelTop) links[pfn]++;
    if (reached[pfn]) {
      // hugetlb (src/kernel/mm/hugetlb.ts): a PMD table processes share
      // holds one reference per PUD entry linking it (checked below).
      if (!kernelTop && !mshared.has(pfn) && frame[pfn * FRAME_STRIDE + FR_REFCOUNT]! <= 1) report(`${from}: table ${pfn} is reachable twice`);
      continue;
    }
    reached[pfn] = 1;
    reachedCount++;
    const state = frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK;
    if (state !== FS_PAGETABLE) {
      report(`${from}: table ${pfn} is in frame state ${state}, not pagetable`);
      continue;
    }
    const slot = frame[pfn * FRAME_STRIDE + FR_PRIVATE];
    if (slot < 0 || slot >= ptPages) {
      report(`table ${pfn} (level ${level}) has store slot ${slot}, outside 0..${ptPages - 1}`);
      continue;
    }
    if (slotOwner[slot] !== -1) {
      report(`tables ${slotOwner[slot]} and ${pfn} share store slot ${slot}`);
      continue;
    }
    slotOwner[slot] = pfn;
    for (let i = 0; i < PT_ENTRIES; i++) {
      const w = entryWord(slot, i);
      const lo = pt[w];
      if ((lo & PTE_P) === 0) continue;
      const target = ptePfn(lo, pt[w + 1]);
      const va = baseVa + i * LEVEL_SIZE[level];
      const here = `level-${level} entry ${i} of table ${pfn} (va ${hex(va)})`;
      const leaf = level === 1 || (lo & PTE_PS) !== 0;
      if (leaf && level === 4) {
        report(`${here}: PS set in a PML4 entry`);
        continue;
      }
      if (!leaf) {
        stack.push([target, level - 1, va, here, level === 4 && (i >= PT_ENTRIES / 2 || shared.has(pfn))]);
        continue;
      }
      const span = LEVEL_FRAMES[level];
      if (target % span !== 0) report(`${here}: ${span}-frame leaf points to unaligned pfn ${target}`);
      if (target + span > frames) report(`${here}: leaf maps pfn ${target}..${target + span - 1}, outside memory`);
    }
  }

  for (let pfn = 0; pfn < frames; pfn++) {
    const refs = frame[pfn * FRAME_STRIDE + FR_REFCOUNT]!;
    if (reached[pfn] && refs > 1 && !mshared.has(pfn) && links[pfn] !== refs) {
      report(`shared PMD table ${pfn} holds ${refs} references but ${links[pfn]} entries link it`);
    }
  }

  let pagetableFrames = 0;
  for (let pfn = 0; pfn < frames; pfn++) {
    if ((frame[pfn * FRAME_STRIDE + FR_FLAGS] & FRAME_STATE_MASK) !== FS_PAGETABLE) continue;
    pagetableFrames++;
    if (!reached[pfn]) report(`page-table frame ${pfn} is not reachable from any root (leaked)`);
  }
  if (pagetableFrames !== reachedCount) {
    report(`${pagetableFrames} frames are page tables but ${reachedCount} tables are reachable`);
  }

  const free = freePtSlotList(ptSlots);
  const onStack = new Uint8Array(ptPages);
  for (const slot of free) {
    if (slot < 0 || slot >= ptPages) { report(`free slot stack holds ${slot}, outside 0..${ptPages - 1}`); continue; }
    if (onStack[slot]) report(`slot ${slot} is on the free stack twice`);
    onStack[slot] = 1;
    if (slotOwner[slot] !== -1) report(`slot ${slot} is free but used by table ${slotOwner[slot]}`);
  }
  if (free.length + pagetableFrames !== ptPages) {
    report(`${free.length} free slots + ${pagetableFrames} page tables != ${ptPages} slots (a slot leaked)`);
  }
  return problems;
}

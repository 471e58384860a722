// The end-of-run check (SEMANTICS.md §9.5 and §9.6), for a quiescent machine
// (every CPU stopped): the main thread calls it after a run.
//
// - Allocator invariants (allocator-invariants.ts) and page-table structure
//   of every live address space (pagetable-invariants.ts).
// - Every mapped user page is an allocated frame whose reference count is
//   the number of PTEs that map it, plus one if the page cache holds it.
// - Conservation: every frame is free, a page table reachable from a live
//   mm, a page-cache page, or an allocation some live mm maps; the rest
//   are lost. Pages evicted by reclaim or truncated are simply free (or
//   reallocated); a page still dirty must still be cached.
// - No TLB or paging-structure-cache entry anywhere translates to a frame
//   freed since it was filled, unless that entry can never be used again
//   without a flush first: its PCID's slot belongs to an mm that no longer
//   exists (ctx ids are never reused), or the slot's generation is behind
//   its mm's (switch_mm will flush it; that is how lazy CPUs and CPUs that
//   left the mm catch up), or the CPU has invalidate_other pending and the
//   slot is not its current one (choose_new_asid forgets it first).

import {
  FRAME_F_HEAD, FRAME_ORDER_MASK, FRAME_ORDER_SHIFT, FRAME_STATE_MASK, FRAME_STATE_NAMES, FS_ALLOCATED, FS_FREE_HEAD,
  FS_FREE_TAIL, FS_PAGETABLE, FS_PCP, FS_TRANSIT, MM_DEAD, MM_LIVE, PSC_PCID_MASK, PSC_VALID, PTE_P, PTE_PS, PT_ENTRIES,
  PTE_NOGEN, PTI_USER_PCID_BIT, TLB_GEN_PERMANENT, TLB_GLOBAL, TLB_NR_DYN_ASIDS, TLB_PCID_MASK, TLB_SIZE_MASK, TLB_SIZE_SHIFT, TLB_VPNHI_MASK, TLB_VPNHI_SHIFT,
} from '../../native-layout/bits.js';
import {
  CPU_ASI_CURR, CPU_ASI_TLB_GEN, CPU_CR3_PCID, CPU_CTX_ID, CPU_CTX_TLB_GEN, CPU_INVALIDATE_OTHER, CPU_LOADED_MM_ASID, CPU_STRIDE, FRAME_STRIDE, FR_CONTENT_GEN,
  FR_FLAGS, FR_PRIVATE, FR_REFCOUNT,
  KERNEL_BOOTED, MM_CTX_ID, MM_PGD, MM_STATE, MM_STRIDE, MM_TLB_GEN, PSC_FILL_GEN, PSC_META, PSC_PT_PFN, PSC_STRIDE,
  PSC_VA_TAG, ZONE_MANAGED_PAGES, MM_ASI_PGD,
} from '../../native-layout/fields.js';
import { checkAsiPgd } from './asi-pgd.js';
import { asiPcidSlot, isAsiPcid } from '../kernel/asi/pcid.js';
import type { MachineMemory } from '../../native-layout/memory.js';
import { Tlb } from '../hw/tlb.js';
import { entryWord } from '../hw/ptstore.js';
import { KERNEL_HALF, LEVEL_SIZE, ptePfn } from '../hw/pte.js';
import { pteIsMigration, pteIsProtNone } from '../kernel/mm/pte-states.js';
import { forEachCachePage, forEachDirtyHole } from '../kernel/mm/filemap.js';
import { forEachHugetlbPage } from '../kernel/mm/hugetlb.js';
import { checkAllocator } from './allocator-invariants.js';
import { checkPageTables } from './pagetable-invariants.js';
import { checkAsiPhysmap, inAsiPhysmap } from './asi-physmap-check.js';

const MAX_LINES = 200;
const PAGE = 4096;
const SIZE_DIV = [PAGE, 2 ** 21, 2 ** 30];

export interface MachineCheck {
  /** One line per problem; empty when the machine is healthy. */
  readonly violations: string[];
  /** Frames neither free nor reachable from a live address space. */
  readonly framesLost: number;
}

interface LiveMm {
  readonly id: number;
  readonly gen: number;
  readonly pgd: number;
  /** The nonsensitive PGD (src/kernel/asi/space.ts), -1 none. */
  readonly asiPgd: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function isFree(state: number): boolean {
  return state === FS_FREE_HEAD || state === FS_FREE_TAIL || state === FS_PCP;
}

/** Live (or dead but not yet dropped) mms by ctx id. */
function liveMms(mem: MachineMemory): Map<number, LiveMm> {
  const m = mem.views.mm;
  const out = new Map<number, LiveMm>();
  for (let id = 0; id < mem.layout.shape.maxMms; id++) {
    const at = id * MM_STRIDE;
    const st = m[at + MM_STATE];
    if (st !== MM_LIVE && st !== MM_DEAD) continue;
    out.set(m[at + MM_CTX_ID]!, { id, gen: m[at + MM_TLB_GEN]!, pgd: m[at + MM_PGD]!, asiPgd: m[at + MM_ASI_PGD]! });
  }
  return out;
}

/** Counts, per frame, the leaf PTEs of every live mm that map it; marks reachable tables. */
function mapCounts(mem: MachineMemory, roots: readonly number[]): { maps: Int32Array; tables: Uint8Array; firstVa: Float64Array; stray: number[] } {
  const { frame, ptStore: pt } = mem.views;
  const frames = mem.layout.frames;
  const maps = new Int32Array(frames);
  const tables = new Uint8Array(frames);
  const firstVa = new Float64Array(frames).fill(-1);
  /** User addresses of migration entries still in place. */
  const stray: number[] = [];
  const stack: Array<[number, number, number]> = roots.map((r) => [r, 4, 0]);
  while (stack.length > 0) {
    const [table, level, base] = stack.pop()!;
    // The ASI nonsensitive physmap is a direct map: its tables are reached
    // (not lost), but its 2 MiB leaves are not references to allocations
    // (checkAsiPhysmap checks them against the pageblock bits instead).
    const physmap = inAsiPhysmap(base);
    if (table < 0 || table >= frames || tables[table]) continue;
    if ((frame[table * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK) !== FS_PAGETABLE) continue;
    tables[table] = 1;
    const slot = frame[table * FRAME_STRIDE + FR_PRIVATE]!;
    for (let i = 0; i < PT_ENTRIES; i++) {
      const w = entryWord(slot, i);
      const lo = pt[w]!;
      const va = base + i * LEVEL_SIZE[level]!;
      if ((lo & PTE_P) === 0) {
        // A user NUMA hinting (PROT_NONE) entry still maps its page
        // (src/kernel/mm/pte-states.ts) and is counted below as a leaf; a
        // migration entry must not outlive its migration, which ends
        // before its fault returns.
        if (level !== 1 || lo === 0 || base >= KERNEL_HALF) continue;
        if (pteIsMigration(lo)) stray.push(va);
        if (!pteIsProtNone(lo)) continue;
      }
      const target = ptePfn(lo, pt[w + 1]!);
      if (level > 1 && (lo & PTE_PS) === 0) {
        stack.push([target, level - 1, va]);
      } else if ((lo & PTE_NOGEN) !== 0) {
        // The direct map: maps every frame, owns none.
      } else if (target < frames && !physmap) {
        maps[target]++;
        if (firstVa[target]! < 0) firstVa[target] = va;
      }
    }
  }
  return { maps, tables, firstVa, stray };
}

/** Whether an entry tagged pcid on cpu can be used again without a flush, and which mm it would serve. */
function liveSlot(mem: MachineMemory, byCtx: Map<number, LiveMm>, cpu: number, pcid: number): LiveMm | null {
  // A PTI user PCID is flushed at the next return to user whenever its
  // kernel PCID was (user-pcid.ts): not tracked here.
  if ((pcid & PTI_USER_PCID_BIT) !== 0) return null;
  const nonsensitive = isAsiPcid(pcid);
  const asid = nonsensitive ? asiPcidSlot(pcid) : pcid - 1;
  if (asid < 0 || asid >= TLB_NR_DYN_ASIDS) return null;
  const st = mem.views.cpu;
  const at = cpu * CPU_STRIDE;
  // A nonsensitive PCID is used again without a flush only by the CPU
  // inside it now, or by a NOFLUSH enter that finds its generation equal
  // to the slot's (enter-exit.ts loadAsiCr3Tracked).
  if (nonsensitive && !(st[at + CPU_ASI_CURR]! >= 0 && st[at + CPU_CR3_PCID] === pcid)
    && st[at + CPU_ASI_TLB_GEN + asid] !== st[at + CPU_CTX_TLB_GEN + asid]) return null;
  const mm = byCtx.get(st[at + CPU_CTX_ID + asid]!);
  if (mm === undefined) return null;
  // A kernel INVLPG under PTI left the other PCIDs to be flushed at their
  // next use: choose_new_asid forgets their slots before any of them runs.
  if (st[at + CPU_INVALIDATE_OTHER] !== 0 && asid !== st[at + CPU_LOADED_MM_ASID]) return null;
  // Behind: the next switch to this mm (or its next flush IPI) flushes the slot.
  if (((st[at + CPU_CTX_TLB_GEN + asid]! - mm.gen) | 0) < 0) return null;
  return mm;
}

export function checkMachineAtEnd(mem: MachineMemory): MachineCheck {
  const v = mem.views;
  const lines: string[] = [];
  const report = (s: string): void => {
    if (lines.length < MAX_LINES) lines.push(s);
  };
  if (v.zone[ZONE_MANAGED_PAGES] === 0) return { violations: [], framesLost: 0 };
  for (const a of checkAllocator(mem)) report(`allocator: ${a.message}`);
  if (Atomics.load(v.kernel, KERNEL_BOOTED) === 0) return { violations: lines, framesLost: 0 };

  const frame = v.frame;
  const frames = mem.layout.frames;
  const byCtx = liveMms(mem);
  const roots = [...byCtx.values()].map((m) => m.pgd);
  const asiRoots = [...byCtx.values()].filter((m) => m.asiPgd >= 0).map((m) => m.asiPgd);
  for (const p of checkPageTables(mem, roots, asiRoots)) report(`page tables: ${p}`);
  for (const m of byCtx.values()) if (m.asiPgd >= 0) for (const p of checkAsiPgd(mem, m.pgd, m.asiPgd)) report(`mm ${m.id} nonsensitive PGD: ${p}`);
  const { maps, tables, firstVa, stray } = mapCounts(mem, [...roots, ...asiRoots]);
  for (const va of stray) report(`a migration entry is left at va ${hex(va)} after its migration`);
  // Page-cache pages: reachable through the cache, which holds one reference.
  const cached = new Uint8Array(frames);
  forEachCachePage(v.file, (pfn, file, index) => {
    if (pfn < 0 || pfn >= frames) report(`page cache: file ${file} page ${index} holds pfn ${pfn}, not a frame`);
    else if (cached[pfn]++ > 0) report(`page cache: frame ${pfn} is cached twice (again as file ${file} page ${index})`);
  });
  // Reclaim evicts only clean pages and truncation clears the mark with
  // the page: a dirty mark on an empty slot is data that never reached the
  // file (a write lost with an evicted page).
  // The hugetlbfs file's pages: the file holds one reference on each (hugetlb.ts).
  forEachHugetlbPage(v.hugetlb, (pfn) => {
    if (pfn >= 0 && pfn < frames) cached[pfn]++;
  });
  forEachDirtyHole(v.file, (file, index) => report(`page cache: file ${file} page ${index} is marked dirty but not cached (its data was lost)`));

  let framesLost = 0;
  for (let pfn = 0; pfn < frames; pfn++) {
    const flags = frame[pfn * FRAME_STRIDE + FR_FLAGS]!;
    const state = flags & FRAME_STATE_MASK;
    const n = maps[pfn]!;
    const c = cached[pfn]!;
    if (n > 0 || c > 0) {
      const where = n > 0 ? `va ${hex(firstVa[pfn]!)}` : 'page cache';
      if (state !== FS_ALLOCATED) {
        report(`frame ${pfn} is ${n > 0 ? 'mapped' : 'cached'} (${where}) but ${FRAME_STATE_NAMES[state] ?? state}`);
      } else if (frame[pfn * FRAME_STRIDE + FR_REFCOUNT] !== n + c) {
        report(`frame ${pfn} (${where}) has refcount ${frame[pfn * FRAME_STRIDE + FR_REFCOUNT]} but ${n} mapping(s)${c > 0 ? ' + the page cache' : ''}`);
      }
      continue;
    }
    if (state === FS_ALLOCATED && (flags & FRAME_F_HEAD) !== 0) framesLost += 1 << ((flags & FRAME_ORDER_MASK) >> FRAME_ORDER_SHIFT);
    else if (state === FS_PAGETABLE && !tables[pfn]) framesLost++;
    else if (state === FS_TRANSIT) framesLost++;
  }
  for (const line of checkAsiPhysmap(mem)) report(line);
  if (framesLost > 0) report(`${framesLost} frame(s) lost: allocated but neither free nor reachable from a live mm`);

  for (let cpu = 0; cpu < mem.layout.shape.cpus; cpu++) {
    new Tlb(mem, cpu).forEachValid((meta, vpnLo, pfn, fillGen) => {
      const size0 = (meta & TLB_SIZE_MASK) >> TLB_SIZE_SHIFT;
      const vpn0 = (vpnLo >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * 2 ** 32;
      // Physmap entries: checked by checkAsiPhysmap (generations of a direct map's first frame mean nothing).
      if (inAsiPhysmap(vpn0 * SIZE_DIV[size0]!)) return;
      const global = (meta & TLB_GLOBAL) !== 0;
      const pcid = meta & TLB_PCID_MASK;
      const mm = global ? null : liveSlot(mem, byCtx, cpu, pcid);
      if (!global && mm === null) return;
      if (pfn < 0 || pfn >= frames || fillGen === TLB_GEN_PERMANENT) return;
      const state = frame[pfn * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK;
      const gen = frame[pfn * FRAME_STRIDE + FR_CONTENT_GEN]!;
      if (!isFree(state) && gen === fillGen) return;
      const size = (meta & TLB_SIZE_MASK) >> TLB_SIZE_SHIFT;
      const vpn = (vpnLo >>> 0) + ((meta & TLB_VPNHI_MASK) >>> TLB_VPNHI_SHIFT) * 2 ** 32;
      report(`cpu ${cpu} TLB: va ${hex(vpn * SIZE_DIV[size]!)} (pcid ${pcid}${mm ? `, mm ${mm.id} at generation ${mm.gen}` : ', global'})`
        + ` still translates to frame ${pfn} (${FRAME_STATE_NAMES[state] ?? state}), filled at generation ${fillGen}, now ${gen}`);
    });
    const psc = v.psc;
    const entries = mem.layout.shape.pscEntries;
    for (let e = cpu * entries * PSC_STRIDE; e < (cpu + 1) * entries * PSC_STRIDE; e += PSC_STRIDE) {
      const meta = psc[e + PSC_META]!;
      if ((meta & PSC_VALID) === 0) continue;
      const mm = liveSlot(mem, byCtx, cpu, meta & PSC_PCID_MASK);
      if (mm === null) continue;
      const table = psc[e + PSC_PT_PFN]!;
      if (table < 0 || table >= frames) continue;
      const state = frame[table * FRAME_STRIDE + FR_FLAGS]! & FRAME_STATE_MASK;
      const gen = frame[table * FRAME_STRIDE + FR_CONTENT_GEN]!;
      if (state === FS_PAGETABLE && gen === psc[e + PSC_FILL_GEN]) continue;
      report(`cpu ${cpu} paging-structure cache: va ${hex(psc[e + PSC_VA_TAG]! * 2 ** 21)} (pcid ${meta & PSC_PCID_MASK}, mm ${mm.id})`
        + ` still points to table frame ${table} (${FRAME_STATE_NAMES[state] ?? state}), filled at generation ${psc[e + PSC_FILL_GEN]}, now ${gen}`);
    }
  }
  return { violations: lines, framesLost };
}

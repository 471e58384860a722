// The buddy free lists: one doubly linked list per (order, freetype), linked
// through frame.next/prev of the head frames, with head and tail pfns in the
// zone record. Callers hold the zone lock. nr_free[order] counts blocks on
// the lists; NR_FREE_PAGES (zone.freePages) is accounted separately by
// accountFreepages(), as the kernel splits __add_to_free_list from
// account_freepages.

import { NR_FREETYPES as NR_FREETYPES_ } from '../../../native-layout/bits.js';
import {
  FRAME_STRIDE as FRAME_STRIDE_, FR_NEXT as FR_NEXT_, FR_PREV as FR_PREV_, ZONE_FREE_HEAD as ZONE_FREE_HEAD_, ZONE_FREE_PAGES as ZONE_FREE_PAGES_,
  ZONE_FREE_TAIL as ZONE_FREE_TAIL_, ZONE_NR_FREE as ZONE_NR_FREE_,
} from '../../../native-layout/fields.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const NR_FREETYPES = NR_FREETYPES_, FRAME_STRIDE = FRAME_STRIDE_, FR_NEXT = FR_NEXT_, FR_PREV = FR_PREV_, ZONE_FREE_HEAD = ZONE_FREE_HEAD_,
  ZONE_FREE_PAGES = ZONE_FREE_PAGES_, ZONE_FREE_TAIL = ZONE_FREE_TAIL_, ZONE_NR_FREE = ZONE_NR_FREE_;

function link(frame: Int32Array, zone: Int32Array, pfn: number, li: number, tail: boolean): void {
  const fi = pfn * FRAME_STRIDE;
  if (tail) {
    const last = zone[ZONE_FREE_TAIL + li];
    frame[fi + FR_PREV] = last;
    frame[fi + FR_NEXT] = -1;
    if (last < 0) zone[ZONE_FREE_HEAD + li] = pfn;
    else frame[last * FRAME_STRIDE + FR_NEXT] = pfn;
    zone[ZONE_FREE_TAIL + li] = pfn;
  } else {
    const first = zone[ZONE_FREE_HEAD + li];
    frame[fi + FR_NEXT] = first;
    frame[fi + FR_PREV] = -1;
    if (first < 0) zone[ZONE_FREE_TAIL + li] = pfn;
    else frame[first * FRAME_STRIDE + FR_PREV] = pfn;
    zone[ZONE_FREE_HEAD + li] = pfn;
  }
}

function unlink(frame: Int32Array, zone: Int32Array, pfn: number, li: number): void {
  const fi = pfn * FRAME_STRIDE;
  const next = frame[fi + FR_NEXT];
  const prev = frame[fi + FR_PREV];
  if (prev < 0) zone[ZONE_FREE_HEAD + li] = next;
  else frame[prev * FRAME_STRIDE + FR_NEXT] = next;
  if (next < 0) zone[ZONE_FREE_TAIL + li] = prev;
  else frame[next * FRAME_STRIDE + FR_PREV] = prev;
  frame[fi + FR_NEXT] = -1;
  frame[fi + FR_PREV] = -1;
}

/** __add_to_free_list(): at the head (cache-hot, reused first) or at the tail. */
export function addToFreeList(frame: Int32Array, zone: Int32Array, pfn: number, order: number, ft: number, tail: boolean): void {
  link(frame, zone, pfn, order * NR_FREETYPES + ft, tail);
  zone[ZONE_NR_FREE + order]++;
}

/** __del_page_from_free_list(). */
export function delFromFreeList(frame: Int32Array, zone: Int32Array, pfn: number, order: number, ft: number): void {
  unlink(frame, zone, pfn, order * NR_FREETYPES + ft);
  zone[ZONE_NR_FREE + order]--;
}

/** move_to_free_list(): to the tail of another freetype's list of the same order. */
export function moveToFreeList(frame: Int32Array, zone: Int32Array, pfn: number, order: number, fromFt: number, toFt: number): void {
  unlink(frame, zone, pfn, order * NR_FREETYPES + fromFt);
  link(frame, zone, pfn, order * NR_FREETYPES + toFt, true);
}

/** account_freepages(): NR_FREE_PAGES moves with every block entering or leaving the lists. */
export function accountFreepages(zone: Int32Array, nr: number): void {
  zone[ZONE_FREE_PAGES] += nr;
}

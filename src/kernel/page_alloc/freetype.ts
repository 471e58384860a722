// Freetypes (ASI v1, "mm: ASI direct map management" patches 11-12): a free
// list is indexed by migratetype x sensitivity. Index = mt + MIGRATE_TYPES *
// nonsensitive, so without ASI the indices equal the migratetypes.

import { MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_, MIGRATE_TYPES as MIGRATE_TYPES_ } from '../../../native-layout/bits.js';
// Local copies: V8 folds a module's own consts into optimised code, not imported bindings (bench/README.md).
const MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_, MIGRATE_TYPES = MIGRATE_TYPES_;

export function freetypeOf(mt: number, nonsensitive: number): number {
  return mt + MIGRATE_TYPES * nonsensitive;
}

export function ftMigratetype(ft: number): number {
  return ft >= MIGRATE_TYPES ? ft - MIGRATE_TYPES : ft;
}

/** 0 = sensitive lane (boot state), 1 = nonsensitive lane. */
export function ftNonsensitive(ft: number): number {
  return ft >= MIGRATE_TYPES ? 1 : 0;
}

/** freetype_with_migrate(): same sensitivity, another migratetype. */
export function ftWithMigratetype(ft: number, mt: number): number {
  return ft >= MIGRATE_TYPES ? mt + MIGRATE_TYPES : mt;
}

/** Types below MIGRATE_PCPTYPES may merge with each other across pageblocks. */
export function migratetypeIsMergeable(mt: number): boolean {
  return mt < MIGRATE_PCPTYPES;
}

/**
 * can_merge_freetypes(): equal freetypes always merge; different ones only
 * when both migratetypes are mergeable and the sensitivity is the same,
 * because changing sensitivity means changing the restricted physmap.
 */
export function canMergeFreetypes(a: number, b: number): boolean {
  if (a === b) return true;
  if (ftNonsensitive(a) !== ftNonsensitive(b)) return false;
  return migratetypeIsMergeable(ftMigratetype(a)) && migratetypeIsMergeable(ftMigratetype(b));
}

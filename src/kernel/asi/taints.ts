// Per-CPU ASI taints (arch/x86/include/asm/asi.h, the 2026 branch): what
// has run on this CPU since the last mitigation, by domain {kernel, user,
// guest, other mm} and kind {data (caches, buffers), control (branch
// predictors)}. A transition runs the expensive flush only when a taint it
// protects against is set, and clears what it flushed.
//
// For the userspace class: entering user code must not leave kernel or
// other-mm *data* behind (KERNEL_DATA | OTHER_MM_DATA ask for the data
// flush), nor let guest or other-mm *control* state steer it
// (GUEST_CONTROL | OTHER_MM_CONTROL ask for the IBPB); running user code
// sets USER_DATA | USER_CONTROL. Leaving for the sensitive space flushes
// the control taints (user-trained predictors must not steer kernel code
// that now sees everything) and sets KERNEL_DATA. When the mm changes the
// USER taints become OTHER_MM ones (asi_handle_switch_mm).

export const TAINT_KERNEL_DATA = 1 << 0;
export const TAINT_USER_DATA = 1 << 1;
export const TAINT_GUEST_DATA = 1 << 2;
export const TAINT_OTHER_MM_DATA = 1 << 3;
export const TAINT_KERNEL_CONTROL = 1 << 4;
export const TAINT_USER_CONTROL = 1 << 5;
export const TAINT_GUEST_CONTROL = 1 << 6;
export const TAINT_OTHER_MM_CONTROL = 1 << 7;

export const TAINTS_DATA = TAINT_KERNEL_DATA | TAINT_USER_DATA | TAINT_GUEST_DATA | TAINT_OTHER_MM_DATA;
export const TAINTS_CONTROL = TAINT_KERNEL_CONTROL | TAINT_USER_CONTROL | TAINT_GUEST_CONTROL | TAINT_OTHER_MM_CONTROL;

/** Userspace class: data taints that must be flushed before its code runs. */
export const USERSPACE_PROTECT_DATA = TAINT_KERNEL_DATA | TAINT_OTHER_MM_DATA;
/** Userspace class: control taints that must be flushed (IBPB) before its code runs. */
export const USERSPACE_PREVENT_CONTROL = TAINT_GUEST_CONTROL | TAINT_OTHER_MM_CONTROL;
/** Userspace class: what running its code leaves. */
export const USERSPACE_SET = TAINT_USER_DATA | TAINT_USER_CONTROL;

/** asi_handle_switch_mm(): the previous mm's user taints become other-mm taints. */
export function foldUserTaintsToOtherMm(t: number): number {
  let out = t & ~(TAINT_USER_DATA | TAINT_USER_CONTROL);
  if ((t & TAINT_USER_DATA) !== 0) out |= TAINT_OTHER_MM_DATA;
  if ((t & TAINT_USER_CONTROL) !== 0) out |= TAINT_OTHER_MM_CONTROL;
  return out;
}

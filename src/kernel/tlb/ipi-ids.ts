// IPI function ids of the TLB layer (kernel ids are 1..31; see smp.ts).

/** flush_tlb_func: info = (mm | initiator | flags, start vpn, end vpn, new tlb_gen). */
export const IPI_FLUSH_TLB_FUNC = 2;
/** do_kernel_range_flush: info = (vpn low word, vpn high word, pages or -1). */
export const IPI_FLUSH_KERNEL_RANGE = 3;
/** do_flush_tlb_all. */
export const IPI_FLUSH_TLB_ALL = 4;

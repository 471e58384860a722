// read() of one 4 KiB block of a tmpfs-like file into a user buffer, as
// shmem_file_read_iter() reduced to one page: look the page up in the page
// cache (filling it from the backing store on a miss) with a reference,
// copy it out through the page-cache copy seam (copy-page-cache.ts: the
// direct map, or an ephemeral map), drop the reference, copy_to_user into
// the buffer, and return to user mode (asi_enter under ASI).

import { FILE_NR_PAGES } from '../../../native-layout/fields.js';
import { contentDomain, contentSecret } from '../../hw/frames.js';
import type { KernelCtx } from '../ctx.js';
import { filemapGetPage } from './filemap.js';
import { putPage } from './page-ref.js';
import { EINVAL } from './pgtable.js';
import { userWrite } from './uaccess.js';
import { countPageCopy, countSyscall } from '../account.js';

/**
 * Reads page `index` of `file` into the user page at bufVa of mm (the
 * calling task's). Returns the content word read (>= 0), or a negative
 * errno / FAULT_* code (ENOMEM: no page for the cache; the buffer's
 * fault code if it is not mapped writable).
 */
export function sysReadBlock(k: KernelCtx, mm: number, file: number, index: number, bufVa: number): number {
  countSyscall(k);
  if (!(Number.isInteger(index) && index >= 0 && index < FILE_NR_PAGES)) return EINVAL;
  const pfn = filemapGetPage(k, file, index);
  if (pfn < 0) return pfn;
  const word = k.copyFromPageCache(k, pfn);
  putPage(k, pfn);
  // copy_page_to_iter: the whole 4 KiB block goes to the user buffer.
  countPageCopy(k);
  const r = userWrite(k, mm, bufVa, contentDomain(word), contentSecret(word));
  k.asi.returnToUser(k, mm);
  return r < 0 ? r : word;
}

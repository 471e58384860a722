// New machinery (issue 11): khugepaged collapsing an anonymous range that
// still maps pages (copy, then a new table; src/kernel/mm/collapse.ts).
// The default soak set's munmap-storm maps its threads' whole 2 MiB chunks
// now and then (chunkPercent), which khugepaged collapses while siblings
// pin the pages with get_user_pages_fast; it runs clean under IPI flushes
// and INVLPGB, and catches the real fix reverted on that path
// (2ba99c5e0881: no IPI round before the old table is freed, so a gup_fast
// walk under INVLPGB is still inside it) on seeds that were not used to
// tune it (from 500). The catalogue arguments stall CPUs inside gup_fast
// and make khugepaged busier; the bug is in the collapse, not there.
import { SCENARIOS } from '../../src/workloads/index.js';
import { reachSuite, stat } from './catalogue.js';

reachSuite({
  title: 'khugepaged collapse of mapped ranges in the default soak set',
  scenario: 'munmap-storm',
  bug: 'collapse-no-gup-sync',
  ran: (r) => stat(r, 'collapsed'),
  kind: 'sw-walk-freed-table',
  walker: 'gup_fast',
}, SCENARIOS.map((s) => s.name));

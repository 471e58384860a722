// New machinery (issue 11): a lockless GUP-fast walker and the table-free
// synchronisation it depends on. The default soak set's munmap-storm pins
// its siblings' pages with get_user_pages_fast (gupPercent, on by default)
// while they unmap and free the tables it walks; it runs clean under IPI
// flushes and INVLPGB, and catches the real fix reverted on that path
// (a37259732a7d: tables flushed by INVLPGB freed without waiting for the
// walkers) on seeds that were not used to tune it (from 500). The catalogue
// arguments stall CPUs only inside gup_fast (stallSites), where a vCPU
// preempted with interrupts off would be; the bug is in the free, not there.
import { SCENARIOS } from '../../src/workloads/index.js';
import { reachSuite, stat } from './catalogue.js';

reachSuite({
  title: 'gup_fast against page-table frees in the default soak set',
  scenario: 'munmap-storm',
  bug: 'invlpgb-table-free-no-sync',
  ran: (r) => stat(r, 'gupFast') - stat(r, 'gupFastMisses'),
  kind: 'sw-walk-freed-table',
  walker: 'gup_fast',
}, SCENARIOS.map((s) => s.name));

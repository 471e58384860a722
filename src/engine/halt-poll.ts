// Whether a run's CPU workers halt-poll (src/kernel/smp.ts setCsdHaltPoll):
// decided once per run on the main thread, as the worker JIT mode is, so
// the report can say which it was and a user can force it.

import { availableParallelism } from 'node:os';

/** Environment variable that forces the choice: on or off (for A/B measurements, or a host shared with other jobs). */
export const HALT_POLL_ENV = 'SHOOTDOWN_HALT_POLL';

/**
 * Halt-polling for a run of `cpus` CPUs under `engine`: never under the
 * serialized engine (its recorded schedules count the waits' scheduling
 * points), else on when the CPUs do not outnumber the host's cores
 * (os.availableParallelism(): the CPUs this process may run on; a cgroup
 * CPU quota is not seen, hence the override). SHOOTDOWN_HALT_POLL=on|off
 * forces it for the free engine; any other value is a RangeError naming
 * the valid ones.
 */
export function runHaltPoll(engine: 'free' | 'serialized', cpus: number, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (engine === 'serialized') return false;
  const forced = env[HALT_POLL_ENV];
  if (forced !== undefined && forced !== '') {
    if (forced === 'on' || forced === 'off') return forced === 'on';
    throw new RangeError(`${HALT_POLL_ENV}=${forced} is not a choice: use on or off`);
  }
  return cpus <= availableParallelism();
}

// The hidden --test-crash flag of `run` and `soak` (tests of fault
// survival only): "CPU:OP[:throw|exit]" makes CPU fail when it reaches op
// OP, by an exception or by its worker thread exiting as if killed
// (TestFaults.crashCpu). `soak` prefixes the seed of the run to crash:
// "SEED:CPU:OP[:how]".

import type { TestFaults } from '../workloads/index.js';
import { UsageError } from './errors.js';

const HOWS = ['throw', 'exit'] as const;

/** "1:300:exit" -> { crashCpu: 1, crashOp: 300, crashHow: 'exit' }; cpus bounds the CPU. */
export function parseTestCrash(flag: string, text: string, cpus: number): Required<Pick<TestFaults, 'crashCpu' | 'crashOp' | 'crashHow'>> {
  const m = /^(\d+):(\d+)(?::(throw|exit))?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} "${text}" is not CPU:OP[:${HOWS.join('|')}] (e.g. 1:300:exit)`);
  const crashCpu = Number(m[1]);
  if (crashCpu >= cpus) throw new UsageError(`${flag}: CPU ${crashCpu} is out of range: use 0..${cpus - 1}`);
  return { crashCpu, crashOp: Number(m[2]), crashHow: (m[3] ?? 'throw') as 'throw' | 'exit' };
}

/** The flag's value back from TestFaults. */
export function formatTestCrash(f: TestFaults): string {
  return `${f.crashCpu}:${f.crashOp ?? 0}:${f.crashHow ?? 'throw'}`;
}

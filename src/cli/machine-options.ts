// --mem / --cpus and friends, turned into a validated MachineShape.

import { totalmem } from 'node:os';
import { ShapeError, defaultShape, validateShape, type MachineShape } from '../../native-layout/shape.js';
import { computeLayout } from '../../native-layout/compute.js';
import { UsageError } from './errors.js';
import { parseIntInRange, parseSize } from './parse.js';

export interface MachineOptions {
  mem?: string;
  cpus?: string;
}

export function shapeFromOptions(opts: MachineOptions, defaults: Partial<MachineShape> = {}): MachineShape {
  const memBytes = opts.mem !== undefined ? parseSize('--mem', opts.mem) : defaults.memBytes;
  const cpus = opts.cpus !== undefined ? parseIntInRange('--cpus', opts.cpus, 1, 64) : defaults.cpus;
  const shape = defaultShape({ ...defaults, ...(memBytes !== undefined ? { memBytes } : {}), ...(cpus !== undefined ? { cpus } : {}) });
  try {
    validateShape(shape);
  } catch (e) {
    if (e instanceof ShapeError) throw new UsageError(`--mem/--cpus: ${e.message}`);
    throw e;
  }
  return shape;
}

/** Before allocating a machine: refuse one the host cannot hold (leave half the RAM to the host). */
export function assertHostCanHold(shape: MachineShape): void {
  const need = computeLayout(shape).totalBytes;
  const limit = totalmem() / 2;
  if (need > limit) {
    throw new UsageError(`--mem: the machine needs ${(need / 2 ** 30).toFixed(1)} GiB of host memory, more than half of this host's ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  }
}

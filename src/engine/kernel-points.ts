// The free engine's kernel interleaving points (src/sync/hook.ts
// kernelPoint): at a seeded rate, a point takes the IPIs pending for this
// CPU (the interrupt a real CPU would take between two kernel statements;
// pollIpis does nothing while interrupts are off) and then stalls for a
// seeded number of spins, as KCSAN's delay injection does, so a window a
// few statements wide is sometimes wide enough for another CPU to land in.
// A stall keeps polling (INVLPGBs always, IPIs when interrupts are on).

import { C } from '../../native-layout/counters.js';
import { COUNTERS_STRIDE } from '../../native-layout/fields.js';
import { setKernelPointHook, spinHook } from '../sync/hook.js';
import { KERNEL_POINT_NAMES } from '../kernel/points.js';
import { ScenarioOptionError } from '../workloads/mm/options.js';
import { xorshift32 } from '../xorshift.js';

/** Engine options (scenario `--option` keys every scenario accepts). */
export const INTERLEAVE_OPTION = 'interleave';
export const STALL_SPINS_OPTION = 'stallSpins';
export const STALL_SITES_OPTION = 'stallSites';
/** Default share of points that interleave, in percent (0 turns the hook off entirely). */
export const DEFAULT_INTERLEAVE_PERCENT = 0;
/** Default upper bound of a stall, in spin iterations (a few microseconds of host time). */
export const DEFAULT_STALL_SPINS = 2000;

/** What --option interleave/stallSpins resolve to, validated at the edge. */
export interface InterleaveConfig {
  /** Percent of kernel points that take IPIs and stall, 0..100. */
  readonly percent: number;
  /** A stall spins uniformly 0..stallSpins-1 times. */
  readonly stallSpins: number;
  /** Bit s set: site s may interleave (KERNEL_POINT_NAMES); every site when all bits are set. */
  readonly siteMask: number;
}

export class InterleaveOptionError extends ScenarioOptionError {
  override name = 'InterleaveOptionError';
}

/** The engine's own options, as `run <scenario> --options` lists them. */
export const ENGINE_OPTIONS: readonly { name: string; default: number | string; range: string }[] = [
  { name: INTERLEAVE_OPTION, default: DEFAULT_INTERLEAVE_PERCENT, range: '0..100 (percent of kernel points)' },
  { name: STALL_SPINS_OPTION, default: DEFAULT_STALL_SPINS, range: '1..10000000' },
  { name: STALL_SITES_OPTION, default: 'all', range: 'all, or kernel point names joined by + (e.g. gup-fast+pte-write)' },
];

/** Reads and checks the engine's interleaving options from a scenario option bag. */
export function interleaveConfig(options: Readonly<Record<string, number | string | boolean>>): InterleaveConfig {
  const pct = options[INTERLEAVE_OPTION] ?? DEFAULT_INTERLEAVE_PERCENT;
  const spins = options[STALL_SPINS_OPTION] ?? DEFAULT_STALL_SPINS;
  if (typeof pct !== 'number' || !(pct >= 0 && pct <= 100)) {
    throw new InterleaveOptionError(`--option ${INTERLEAVE_OPTION}=${String(pct)}: use a percentage from 0 to 100`);
  }
  if (typeof spins !== 'number' || !Number.isInteger(spins) || spins < 1 || spins > 10_000_000) {
    throw new InterleaveOptionError(`--option ${STALL_SPINS_OPTION}=${String(spins)}: use a whole number from 1 to 10000000`);
  }
  return { percent: pct, stallSpins: spins, siteMask: stallSiteMask(options[STALL_SITES_OPTION] ?? 'all') };
}

const ALL_SITES = -1;

/** `stallSites`: 'all', or site names joined by '+', as a bit mask of sites. */
function stallSiteMask(value: number | string | boolean): number {
  if (value === 'all') return ALL_SITES;
  const names = KERNEL_POINT_NAMES.slice(1);
  let mask = 0;
  for (const name of String(value).split('+')) {
    const site = KERNEL_POINT_NAMES.indexOf(name);
    if (name === '' || site < 1) {
      throw new InterleaveOptionError(`--option ${STALL_SITES_OPTION}=${String(value)}: '${name}' is not a kernel point: use all, or names joined by + from ${names.join(', ')}`);
    }
    mask |= 1 << site;
  }
  return mask;
}

// Per-thread state: one CPU per worker. Module variables, not a closure, so
// the hook is one monomorphic function.
let rng = 1;
let threshold = 0;
let maxSpins = 1;
let siteMask = ALL_SITES;
let counters: Float64Array | null = null;
let counterAt = 0;
/** Written by stalls so the loop is not optimised away. */
let sink = 0;

function nextRandom(): number {
  rng = xorshift32(rng);
  return rng >>> 0;
}

/** Spins between two polls of a stall. */
const STALL_POLL_SPINS = 256;

function interleaveAt(site: number): void {
  if ((siteMask & (1 << site)) === 0 || nextRandom() >= threshold) return;
  counters![counterAt] += 1;
  spinHook();
  const spins = nextRandom() % maxSpins;
  let x = sink;
  // The CPU is delayed, not deaf: it keeps polling, as hardware goes on
  // applying other CPUs' INVLPGBs (a TLBSYNC elsewhere does not wait for
  // the stall to end) and takes IPIs if interrupts are on.
  for (let i = 0; i < spins; i++) {
    x = (x + i) | 0;
    if ((i & (STALL_POLL_SPINS - 1)) === STALL_POLL_SPINS - 1) spinHook();
  }
  sink = x;
}

/**
 * Installs the interleaving hook for this thread's CPU (or removes it when
 * the rate is 0). The stream is seeded from (seed, cpu): the same run
 * chooses the same points, though in the free engine what another CPU
 * does meanwhile still depends on the host.
 */
export function installKernelPoints(
  cfg: InterleaveConfig, seed: number, cpu: number, counterBlock: Float64Array,
): void {
  if (cfg.percent <= 0) {
    setKernelPointHook(null);
    return;
  }
  let z = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(cpu + 0x51, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  rng = (z ^ (z >>> 15)) | 1;
  threshold = Math.min(2 ** 32, Math.round((cfg.percent / 100) * 2 ** 32));
  maxSpins = cfg.stallSpins;
  siteMask = cfg.siteMask;
  counters = counterBlock;
  counterAt = cpu * COUNTERS_STRIDE + C.interleavings;
  setKernelPointHook(interleaveAt);
}

export function removeKernelPoints(): void {
  setKernelPointHook(null);
  counters = null;
}

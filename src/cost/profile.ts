// CPU profiles (proto/profile.proto): cycles per counted event, shipped as
// files in profiles/ (proto3 JSON mapping) and chosen with --profile NAME.
// Loaded and checked once, at the edge: an unknown profile, an event this
// build does not count, or a negative cost is a user error with one line.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import protobuf from 'protobufjs';
import { COUNTER_NAMES } from '../../native-layout/counters.js';
import { PACKAGE_ROOT } from '../paths.js';

export interface EventCost {
  readonly event: string;
  readonly cycles: number;
  readonly source: string;
  readonly fitted: boolean;
}

export interface CpuProfile {
  readonly name: string;
  readonly description: string;
  readonly ghz: number;
  readonly costs: readonly EventCost[];
}

/** The profile a run uses when it names none. */
export const DEFAULT_PROFILE = 'spr';

const PROFILE_DIR = new URL('profiles/', PACKAGE_ROOT);

export class ProfileError extends Error {
  override name = 'ProfileError';
}

let profileType: protobuf.Type | null = null;

function type(): protobuf.Type {
  if (profileType === null) {
    const root = new protobuf.Root();
    protobuf.parse(readFileSync(new URL('proto/profile.proto', PACKAGE_ROOT), 'utf8'), root, { keepCase: false });
    profileType = root.lookupType('shootdown.CpuProfile');
  }
  return profileType;
}

/** Names of the shipped profiles, sorted. */
export function profileNames(): string[] {
  return readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/**
 * Loads profiles/NAME.json through the CpuProfile message. Throws
 * ProfileError naming the valid profiles when there is no such file, and
 * naming the field when the file does not fit the schema or costs an event
 * the emulator does not count.
 */
export function loadProfile(name: string): CpuProfile {
  const file = new URL(`${name}.json`, PROFILE_DIR);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(file)) {
    throw new ProfileError(`unknown profile "${name.slice(0, 60)}": use one of ${profileNames().join(', ')}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProfileError(`profile ${name}: profiles/${name}.json is not JSON (${(e as Error).message})`);
  }
  return parseProfile(name, json);
}

/** Checks a CpuProfile in its proto3 JSON mapping (see loadProfile for the errors). */
export function parseProfile(name: string, json: unknown): CpuProfile {
  const t = type();
  const err = t.verify(json as Record<string, unknown>);
  if (err) throw new ProfileError(`profile ${name}: does not fit proto/profile.proto: ${err}`);
  const p = t.toObject(t.fromObject(json as Record<string, unknown>), { defaults: true, arrays: true }) as unknown as CpuProfile;
  if (!(p.ghz > 0)) throw new ProfileError(`profile ${name}: ghz must be above 0`);
  const known = new Set<string>(COUNTER_NAMES);
  const seen = new Set<string>();
  for (const c of p.costs) {
    if (!known.has(c.event)) throw new ProfileError(`profile ${name}: "${c.event}" is not a counted event (${COUNTER_NAMES.join(', ')})`);
    if (seen.has(c.event)) throw new ProfileError(`profile ${name}: "${c.event}" is costed twice`);
    if (!(c.cycles >= 0)) throw new ProfileError(`profile ${name}: ${c.event} costs ${c.cycles} cycles: use 0 or more`);
    seen.add(c.event);
  }
  return { ...p, name };
}

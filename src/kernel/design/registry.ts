// The registry of user designs (`--design` modules, or registerDesign from
// the library), by name. A registered name is a valid --variant value from
// then on: parseVariant looks it up first, so every path that already
// carries a variant string (the run spec, the CPU workers, compare's
// variant list, the report) carries a design the same way. Each CPU worker
// loads the same module again (src/engine/cpu-worker.ts), so its registry
// holds the same design under the same name.
//
// Plain data only: no kernel imports, so the variant parser can consult it
// without pulling the kernel in.

import type { Design } from './types.js';

/** A registered user design and where it came from. */
export interface RegisteredDesign {
  readonly design: Design;
  /** Canonical spelling of its base variant. */
  readonly base: string;
  /** file: URL of the module, or null (registered from code). */
  readonly source: string | null;
}

const byName = new Map<string, RegisteredDesign>();

/** The user design registered under name, if any. */
export function userDesignNamed(name: string): RegisteredDesign | undefined {
  return byName.get(name);
}

/** Every registered user design, in registration order. */
export function userDesigns(): readonly RegisteredDesign[] {
  return [...byName.values()];
}

/** Path of the module a registered user design came from, or null (a built-in variant, or registered from code). */
export function designFileOf(name: string): string | null {
  const src = byName.get(name)?.source ?? null;
  if (src === null) return null;
  return src.startsWith('file://') ? decodeURIComponent(new URL(src).pathname) : src;
}

/** Names of the registered user designs. */
export function userDesignNames(): string[] {
  return [...byName.keys()];
}

/** Adds (or replaces: a worker loading the same module again) a checked design. */
export function putUserDesign(entry: RegisteredDesign): void {
  byName.set(entry.design.name, entry);
}

// The engine starts its CPU workers from the compiled dist/ build (the
// test script builds first), so engine tests load the engine from there
// too: one copy of the error classes, and the worker file next to it.
// Typed as the source module it was compiled from.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type * as Engine from '../../src/engine/index.js';

export async function loadEngine(): Promise<typeof Engine> {
  const path = fileURLToPath(new URL('../../dist/src/engine/index.js', import.meta.url));
  return (await import(path)) as typeof Engine;
}

/** file: URL of a program module in test/workers, for FreeRunConfig.programModule. */
export function testProgram(name: string): string {
  return new URL(`../workers/${name}`, import.meta.url).href;
}

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The built CLI run with environment variable `name` set to `value`, or unset when undefined. */
export function cliWithEnv(name: string, value: string | undefined, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[name];
  if (value !== undefined) env[name] = value;
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

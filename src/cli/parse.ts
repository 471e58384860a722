// Parsers for command-line values. Each throws a UsageError naming the flag,
// the bad value and what would be accepted.

import { UsageError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "16G", "512M", "4096K", "1048576", "2GiB" -> bytes. */
export function parseSize(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${flag} "${text}" is not a size: use a number with an optional K, M, G or T suffix (e.g. 16G)`);
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag} "${text}" is not a whole number of bytes`);
  return bytes;
}

export function parseIntInRange(flag: string, text: string, min: number, max: number): number {
  if (!/^\s*-?\d+\s*$/.test(text)) throw new UsageError(`${flag} "${text}" is not a whole number: use ${min}..${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} ${n} is out of range: use ${min}..${max}`);
  return n;
}

export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag} "${text}" is not one of: ${choices.join(', ')}`);
}

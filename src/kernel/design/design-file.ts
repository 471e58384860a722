// --design: a user's design module, loaded into the design registry so its
// name is a --variant value. The main thread loads it before any CPU
// starts (bad files are refused there, with one line); every CPU worker
// loads the same file again (src/engine/cpu-worker.ts), so the policies
// each CPU resolves are that module's own functions, in that worker.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DesignShapeError, registerDesign } from './register.js';
import type { Design } from './types.js';

const loadedUrls: string[] = [];

/** file: URLs of the design files this thread loaded (the engine passes them to every CPU worker). */
export function loadedDesignFiles(): readonly string[] {
  return loadedUrls;
}

/** A design file that cannot be used: missing, failing to load, or of the wrong shape. */
export class DesignFileError extends Error {
  override name = 'DesignFileError';
}

/** Whether a --variant entry names a design file rather than a variant (a path: has a slash or ends in .mjs/.js). */
export function looksLikeDesignFile(text: string): boolean {
  return text.includes('/') || text.includes('\\') || /\.(mjs|js|ts)$/.test(text);
}

function fileUrl(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new DesignFileError(`--design ${path}: no such file`);
  if (!statSync(abs).isFile()) throw new DesignFileError(`--design ${path}: not a file`);
  if (!/\.(mjs|js)$/.test(abs)) throw new DesignFileError(`--design ${path}: use an ES module ending in .mjs or .js (compile TypeScript first)`);
  return pathToFileURL(abs).href;
}

/**
 * Imports a design module and registers its design (the default export,
 * or an export named `design`). Returns the design; its name is then a
 * --variant value.
 *
 * Errors: DesignFileError with one line: the file is missing, throws while
 * loading (a syntax error included: the message's first line), or exports
 * something without the Design shape (the field that is wrong).
 */
export async function loadDesignFile(path: string): Promise<Design> {
  const url = path.startsWith('file:') ? path : fileUrl(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new DesignFileError(`--design ${path} failed to load: ${msg.split('\n')[0]}`);
  }
  const d = mod['default'] ?? mod['design'];
  if (d === undefined) throw new DesignFileError(`--design ${path} exports no design: export default a Design (see \`shootdown new design NAME\`)`);
  try {
    registerDesign(d as Design, url, `--design ${path}`);
  } catch (e) {
    if (e instanceof DesignShapeError) throw new DesignFileError(e.message);
    throw e;
  }
  if (!loadedUrls.includes(url)) loadedUrls.push(url);
  return d as Design;
}

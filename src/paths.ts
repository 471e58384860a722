// The package root, found from this file whether it runs as source (vitest)
// or from dist/, so files shipped beside the code (proto/, package.json) load
// either way.
import { existsSync } from 'node:fs';

function findRoot(): URL {
  let dir = new URL('./', import.meta.url);
  for (let i = 0; i < 6; i++) {
    if (existsSync(new URL('package.json', dir)) && existsSync(new URL('proto/', dir))) return dir;
    dir = new URL('../', dir);
  }
  throw new Error('shootdown: cannot find the package root (package.json beside proto/)');
}

export const PACKAGE_ROOT: URL = findRoot();

#!/usr/bin/env node
// Entry point of the `shootdown` command (built to dist/cli.js).
//
// Most of a short command's time is Node loading the CLI's ~300 modules one
// file at a time, so `npm run build` also bundles them into one file (as it
// does for the CPU worker) and this entry imports that: about 0.3 s less
// per command, which is most of `--version` and a large share of every
// short run. The unbundled modules are used instead when a command may load
// a user module (`--scenario-file`, `--design`, or a design file named in a
// `--variant` list): such a module imports `shootdown`, i.e. the unbundled
// files, and the CLI must share those module instances with it (its
// registries, its error classes). SHOOTDOWN_CLI_BUNDLE=0 forces the
// unbundled modules (coverage and profiles then name the source files).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Main = (argv: string[]) => Promise<number>;

const BUNDLE = new URL('./src/engine/cli.bundle.mjs', import.meta.url);
const argv = process.argv.slice(2);
const mayLoadUserModule = argv.some((a) => /\.(m|c)?[jt]s\b/.test(a));
const useBundle = !mayLoadUserModule && process.env['SHOOTDOWN_CLI_BUNDLE'] !== '0' && existsSync(fileURLToPath(BUNDLE));
const { main } = (useBundle ? await import(BUNDLE.href) : await import('./src/cli/main.js')) as { main: Main };

process.exitCode = await main(argv);

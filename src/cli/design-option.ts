// --design on run, compare, soak and profile: one option definition and
// one pre-action hook that loads the modules before the command validates
// its --variant, so a design's name is a variant from then on.
//
// run/soak/profile: --design F with --variant left at its default runs F's
// design. compare: every --variant entry that is a path (has a slash, or
// ends in .mjs/.js) is loaded as a design and stands for its name, and a
// --design not named in the list is added at its end: `compare --variant
// asi-on+ephmap,./my-design.mjs` puts the two side by side.

import type { Command } from 'commander';
import { DesignFileError, loadDesignFile, looksLikeDesignFile } from '../kernel/design/design-file.js';
import type { Design } from '../kernel/design/types.js';
import { UsageError } from './errors.js';

/** The commands that take a design. */
export const DESIGN_COMMANDS: readonly string[] = ['run', 'compare', 'soak', 'profile'];

async function load(file: string): Promise<Design> {
  try {
    return await loadDesignFile(file);
  } catch (e) {
    if (e instanceof DesignFileError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * compare's variant list: every entry that is a design file's path is
 * loaded and stands for its design's name, and each already loaded design
 * (`--design`) not named in the list is added at its end. Shared by the CLI
 * and the library's compare(). Errors: UsageError (a bad design module).
 */
export async function compareVariantNames(entries: readonly string[], designs: readonly Design[]): Promise<string[]> {
  const names: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    names.push(e !== '' && looksLikeDesignFile(e) ? (await load(e)).name : e);
  }
  for (const d of designs) if (!names.includes(d.name)) names.push(d.name);
  return names;
}

/** Loads design modules (`--design`, in order); a bad one is a UsageError. */
export async function loadDesigns(files: readonly string[]): Promise<Design[]> {
  const designs: Design[] = [];
  for (const file of files) designs.push(await load(file));
  return designs;
}

/**
 * Adds `--design <file>` (repeatable) to the design commands and the hook
 * that loads the files (and compare's path entries) before the action. A
 * missing, failing or wrongly shaped module is a UsageError: one line,
 * exit 2, before any CPU starts.
 */
export function addDesignOption(program: Command): void {
  for (const cmd of program.commands) {
    if (!DESIGN_COMMANDS.includes(cmd.name())) continue;
    cmd.option('--design <file>', 'load a design module (.mjs; see `shootdown new design`) and run it: its name becomes a --variant value (repeatable)',
      (v: string, acc: string[]) => [...acc, v], [] as string[]);
  }
  program.hook('preAction', async (_program, action) => {
    if (!DESIGN_COMMANDS.includes(action.name())) return;
    const files = (action.opts()['design'] as string[] | undefined) ?? [];
    const designs: Design[] = [];
    for (const file of files) designs.push(await load(file));
    const variant = action.opts()['variant'] as string | undefined;
    if (action.name() === 'compare') {
      const names = await compareVariantNames(variant === undefined ? [] : variant.split(','), designs);
      if (names.length > 0) action.setOptionValue('variant', names.join(','));
      return;
    }
    // run/soak/profile run one design: two --design with --variant left at
    // its default would silently run the last, so they are refused.
    if (files.length > 1 && action.getOptionValueSource('variant') === 'default') {
      throw new UsageError(`--design given ${files.length} times (${files.join(', ')}): ${action.name()} runs one design; `
        + `pick one with --variant NAME, or put them side by side with compare --variant ${designs.map((d) => d.name).join(',')}`);
    }
    if (variant !== undefined && looksLikeDesignFile(variant)) {
      action.setOptionValue('variant', (await load(variant)).name);
    } else if (designs.length > 0 && action.getOptionValueSource('variant') === 'default') {
      action.setOptionValue('variant', designs[designs.length - 1]!.name);
    }
  });
}

// Commander's parse errors (unknown flag or command, missing value, extra
// arguments) turned into the house form: one line, naming the bad value and
// what would be accepted. And long bad values cut to a readable length: a
// 100,000-character argument must not be echoed whole.

import type { Command, CommanderError } from 'commander';

/** Longest single word an error line echoes whole. */
const MAX_WORD = 80;
const KEEP = 60;
const MAX_LINE = 2000;

/** Cuts every run of non-blank characters longer than 80 to its first 60 and a count. */
export function cutLongValues(line: string): string {
  return line.replace(new RegExp(`[^\\s"]{${MAX_WORD + 1},}`, 'g'), (w) => `${w.slice(0, KEEP)}…(${w.length.toLocaleString('en-US')} characters)`).slice(0, MAX_LINE);
}

function subcommandOf(program: Command, argv: readonly string[]): Command | null {
  const first = argv.find((a) => !a.startsWith('-'));
  return program.commands.find((c) => c.name() === first) ?? null;
}

function optionNames(cmd: Command): string {
  return cmd.options.filter((o) => !o.hidden).map((o) => o.long ?? o.short).filter((n) => n !== undefined).concat('--help').join(', ');
}

/** One line for a CommanderError, with the valid choices for its kind. */
export function commanderErrorLine(e: CommanderError, program: Command, argv: readonly string[]): string {
  const lines = e.message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const head = (lines[0] ?? e.message).replace(/^error:\s*/, '');
  const hint = lines.slice(1).find((l) => /did you mean/i.test(l));
  const hintText = hint ? ` ${hint.replace(/^\((.*)\)$/, '$1').replace(/^D/, 'd')}` : '';
  const sub = subcommandOf(program, argv);
  switch (e.code) {
    case 'commander.unknownCommand':
      return `${head}:${hintText} use one of: ${program.commands.map((c) => c.name()).join(', ')}`;
    case 'commander.unknownOption': {
      const cmd = sub ?? program;
      return `${head}:${hintText} ${sub ? `${sub.name()} takes` : 'valid options are'} ${optionNames(cmd)}`;
    }
    case 'commander.excessArguments': {
      const usage = sub ? `usage: shootdown ${sub.name()} ${sub.usage()}` : 'see shootdown --help';
      return `${head.replace(/\.$/, '')}: ${usage}`;
    }
    case 'commander.optionMissingArgument':
    case 'commander.missingArgument':
      return `${head}: give it a value${sub ? ` (see shootdown ${sub.name()} --help)` : ''}`;
    default:
      return `${head}${hintText ? ` (${hintText.trim()})` : ''}`;
  }
}

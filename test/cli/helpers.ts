import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (npm test builds dist/ first), in `cwd` if given. */
export function runCli(args: string[], timeoutMs = 120_000, cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs, ...(cwd !== undefined ? { cwd } : {}) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface LiveCli {
  /** Everything the process wrote (a pseudo-terminal merges stdout and stderr). */
  output: () => string;
  /** Resolves when `text` has appeared in the output. */
  waitFor: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
  /** Types into the terminal (e.g. '\x03', Ctrl-C), or writes to stdin without one. */
  type: (text: string) => void;
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<{ code: number; ms: number }>;
}

/**
 * Starts the built CLI and returns a handle to drive it while it runs. With
 * `pty`, under a pseudo-terminal made by util-linux `script` (stderr is a
 * TTY, so the progress bar draws, and Ctrl-C typed into it reaches the
 * process as SIGINT from the terminal driver, as for a user).
 */
export function startCli(args: string[], pty: boolean): LiveCli {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = Date.now();
  const child = pty
    ? spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CI: '' } })
    : spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number; ms: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? -1 : -2), ms: Date.now() - t0 }));
  });
  return {
    output: () => out,
    waitFor: (text, timeoutMs = 60_000) => new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${out.slice(-2000)}`)), timeoutMs);
      const check = (): void => {
        if (typeof text === 'string' ? out.includes(text) : text.test(out)) { clearTimeout(deadline); resolve(); } else waiters.push(check);
      };
      check();
    }),
    type: (text) => { child.stdin!.write(text); },
    kill: (signal) => { child.kill(signal); },
    exited,
  };
}

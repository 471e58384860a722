// V8's CPU profiler inside one CPU worker (node:inspector, the same
// Profiler domain Chrome DevTools drives), for `shootdown profile`: started
// before the CPU's program is built, stopped once it has quiesced, written
// as <dir>/cpu-<N>.cpuprofile, which DevTools and speedscope load as is.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Sampling interval (µs). V8's default is 1000; CPU ops take microseconds. */
export const PROFILE_SAMPLING_US = 200;

/** The profile file of a CPU in dir. */
export function cpuProfilePath(dir: string, cpu: number): string {
  return join(dir, `cpu-${String(cpu).padStart(2, '0')}.cpuprofile`);
}

export class CpuProfiler {
  private readonly session = new Session();

  /** Connects to this thread's isolate and starts sampling. */
  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_US });
    await this.session.post('Profiler.start');
  }

  /** Stops sampling and writes the profile to file. */
  async stopAndWrite(file: string): Promise<void> {
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
  }
}

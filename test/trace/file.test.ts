// Trace files (issue 10): the framing a reader checks, the atomic writer,
// and one-line refusals of torn, foreign and empty files.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachineMemory, defaultShape } from '../../native-layout/index.js';
import { traceRings } from '../../src/trace/ring.js';
import { EV_IPI_SEND, EV_USER } from '../../src/trace/events.js';
import { TraceRecording, type TraceRunInfo } from '../../src/trace/record.js';
import { TraceFileError, decodeTraceFile } from '../../src/trace/file.js';
import { runCli } from '../cli/helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'shootdown-trace-'));
const INFO: TraceRunInfo = {
  toolVersion: 'test', scenario: 'unit', cpus: 2, seed: 7, variant: 'asi-off', inject: [], engine: 'free', schedSeed: 0, sched: '',
  preemptions: 0, opsPerCpu: 0, options: ['threads=2'], replay: 'shootdown run unit',
};

async function recordSome(path: string, mode: 'ring' | 'full', n: number): Promise<void> {
  const mem = createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 2, traceEntries: 4096 }));
  const rec = await TraceRecording.start(mem, path, mode, INFO);
  const rings = traceRings(mem);
  for (let i = 0; i < n; i++) rings[i % 2]!.emit(i % 3 === 0 ? EV_IPI_SEND : EV_USER, i, 1, 2);
  await new Promise((r) => setTimeout(r, 20)); // let the full-mode timer drain a few times
  await rec.stop('ops');
}

describe('trace file round trip', () => {
  it('writes a header, every event in sequence order in fixed batches, and an end record with the counts', async () => {
    const path = join(tmp(), 't.trc');
    await recordSome(path, 'full', 1500);
    const t = decodeTraceFile(readFileSync(path));
    expect(t.header).toMatchObject({ scenario: 'unit', cpus: 2, seed: 7, mode: 'full', ringEntries: 4096, options: ['threads=2'] });
    expect(t.header.kindNames[EV_IPI_SEND]).toBe('ipi-send');
    expect(t.events.map((e) => e.a)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(t.events.map((e) => e.seq)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(t.end).toMatchObject({ written: [750, 750], lost: [0, 0], stoppedBy: 'ops', events: 1500 });
  });

  it('leaves no temporary file behind and renames only a finished file into place', async () => {
    const dir = tmp();
    const path = join(dir, 't.trc');
    const mem = createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 2 }));
    const rec = await TraceRecording.start(mem, path, 'full', INFO);
    traceRings(mem)[0]!.emit(EV_USER, 1, 2, 3);
    // While the run goes on, the target does not exist: a kill now leaves nothing there.
    expect(existsSync(path)).toBe(false);
    await rec.stop('interrupted');
    expect(readdirSync(dir)).toEqual(['t.trc']);
    expect(decodeTraceFile(readFileSync(path)).end.stoppedBy).toBe('interrupted');
  });

  it('refuses an empty, foreign, torn or altered file with a reason', async () => {
    const path = join(tmp(), 't.trc');
    await recordSome(path, 'ring', 600);
    const good = readFileSync(path);
    const reason = (b: Uint8Array): string => {
      try {
        decodeTraceFile(b);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceFileError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(reason(good)).toBe('accepted');
    expect(reason(new Uint8Array())).toMatch(/is empty/);
    expect(reason(Buffer.from('SHOOTRPT\x01\x00\x00\x00 a report, not a trace'))).toMatch(/not a shootdown trace/);
    expect(reason(good.subarray(0, good.length - 7))).toMatch(/is torn/);
    expect(reason(good.subarray(0, Math.floor(good.length / 2)))).toMatch(/is torn/);
    const altered = Buffer.from(good);
    altered[200] ^= 0x01;
    expect(reason(altered)).toMatch(/corrupted|torn/);
    const newer = Buffer.from(good);
    newer.writeUInt32LE(99, 8);
    expect(reason(newer)).toMatch(/version 99/);
  });

  it('trace show refuses a torn file with one line naming it, exit 2', async () => {
    const dir = tmp();
    const path = join(dir, 't.trc');
    await recordSome(path, 'ring', 100);
    const torn = join(dir, 'torn.trc');
    writeFileSync(torn, readFileSync(path).subarray(0, 300));
    for (const cmd of [['trace', 'show', torn], ['trace', 'export', torn, '--format', 'chrome']]) {
      const r = runCli(cmd);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`"${torn}" is torn`);
    }
  });
});

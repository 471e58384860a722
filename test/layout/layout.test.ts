import { describe, expect, it } from 'vitest';
import { computeLayout, createMachineMemory, defaultShape, recordFormat, REGIONS, FRAME_STRIDE, fieldIndex } from '../../native-layout/index.js';

describe('native layout', () => {
  it('places regions in order, 64-byte aligned and without overlap', () => {
    const layout = computeLayout(defaultShape({ cpus: 8 }));
    let end = 0;
    for (const r of layout.regions) {
      expect(r.offset % 64).toBe(0);
      expect(r.offset).toBeGreaterThanOrEqual(end);
      expect(r.bytes).toBe(r.count * r.recordBytes);
      end = r.offset + r.bytes;
    }
    expect(layout.totalBytes).toBeGreaterThanOrEqual(end);
    expect(layout.regions.map((r) => r.name)).toEqual(REGIONS.map((r) => r.name));
  });

  it('keeps a frame at 28 bytes of struct page and contents, under the 32-byte budget', () => {
    expect(recordFormat('frame').recordBytes).toBe(28);
    expect(FRAME_STRIDE).toBe(7);
    const layout = computeLayout(defaultShape({ memBytes: 16 * 2 ** 30, cpus: 64 }));
    expect(layout.bytesPerFrame).toBeLessThanOrEqual(32);
  });

  it('pads per-CPU records to whole cache lines so CPUs never share one', () => {
    for (const name of ['pcp', 'cpu', 'ipi', 'counters', 'traceHead']) {
      expect(recordFormat(name).recordBytes % 64).toBe(0);
    }
  });

  it('gives every region a typed view of exactly its size in one shared buffer', () => {
    const mem = createMachineMemory(defaultShape({ memBytes: 16 * 2 ** 20, cpus: 2 }));
    expect(mem.sab).toBeInstanceOf(SharedArrayBuffer);
    for (const r of mem.layout.regions) {
      const view = (mem.views as unknown as Record<string, Int32Array | Float64Array>)[r.name]!;
      expect(view.byteOffset).toBe(r.offset);
      expect(view.byteLength).toBe(r.bytes);
    }
    expect(mem.views.counters).toBeInstanceOf(Float64Array);
  });

  it('rejects a misspelt field at load time rather than reading garbage', () => {
    expect(() => fieldIndex('frame', 'flagz')).toThrow(/no field frame.flagz/);
    expect(() => recordFormat('frames')).toThrow(/no region named frames/);
  });
});

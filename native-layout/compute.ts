// Derives offsets, sizes and per-frame cost from the region table.

import { REGIONS, type RegionSpec, type Scalar } from './regions.js';
import { type MachineShape, frameCount, validateShape } from './shape.js';

/** Regions start on a 64-byte boundary so no two regions share a cache line. */
export const REGION_ALIGN = 64;

export interface FieldLayout {
  readonly name: string;
  /** Byte offset inside the record. */
  readonly offset: number;
  /** Bytes of one element. */
  readonly width: number;
  readonly count: number;
  readonly doc: string;
}

export interface RecordFormat {
  readonly scalar: Scalar;
  /** Record size in bytes, padding included. */
  readonly recordBytes: number;
  /** Record size in scalars (the typed-array index step). */
  readonly stride: number;
  readonly fields: readonly FieldLayout[];
  /** Scalar index of a field inside the record. */
  readonly at: Readonly<Record<string, number>>;
}

export interface RegionLayout extends RecordFormat {
  readonly name: string;
  readonly doc: string;
  readonly scales: RegionSpec['scales'];
  /** Byte offset in the machine's SharedArrayBuffer. */
  readonly offset: number;
  /** Bytes the region occupies (count x recordBytes). */
  readonly bytes: number;
  readonly count: number;
}

export interface Layout {
  readonly shape: MachineShape;
  readonly frames: number;
  readonly regions: readonly RegionLayout[];
  readonly totalBytes: number;
  /** Metadata bytes per 4 KiB frame: the frame record plus the pageblock bits. */
  readonly bytesPerFrame: number;
  region(name: string): RegionLayout;
}

const scalarBytes = (s: Scalar): number => (s === 'f64' ? 8 : 4);
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function formatOf(spec: RegionSpec): RecordFormat {
  const width = scalarBytes(spec.scalar);
  const fields: FieldLayout[] = [];
  const at: Record<string, number> = {};
  let offset = 0;
  for (const field of spec.fields) {
    const count = field.count ?? 1;
    if (field.name in at) throw new Error(`native-layout: field ${spec.name}.${field.name} is declared twice`);
    fields.push({ name: field.name, offset, width, count, doc: field.doc });
    at[field.name] = offset / width;
    offset += width * count;
  }
  const recordBytes = alignUp(offset, spec.recordAlign ?? width);
  return { scalar: spec.scalar, recordBytes, stride: recordBytes / width, fields, at };
}

const formats = new Map<string, RecordFormat>(REGIONS.map((r) => [r.name, formatOf(r)]));

/**
 * The record format of a region: static, independent of machine size, so hot
 * code can take field indices as module constants.
 */
export function recordFormat(region: string): RecordFormat {
  const fmt = formats.get(region);
  if (!fmt) throw new Error(`native-layout: no region named ${region}`);
  return fmt;
}

/** Scalar index of `region.field` inside a record; throws on a typo at load time. */
export function fieldIndex(region: string, field: string): number {
  const i = recordFormat(region).at[field];
  if (i === undefined) throw new Error(`native-layout: no field ${region}.${field}`);
  return i;
}

export function computeLayout(shape: MachineShape): Layout {
  validateShape(shape);
  const regions: RegionLayout[] = [];
  let offset = 0;
  for (const spec of REGIONS) {
    const fmt = recordFormat(spec.name);
    const count = spec.count(shape);
    const bytes = count * fmt.recordBytes;
    offset = alignUp(offset, REGION_ALIGN);
    regions.push({ ...fmt, name: spec.name, doc: spec.doc, scales: spec.scales, offset, bytes, count });
    offset += bytes;
  }
  const byName = new Map(regions.map((r) => [r.name, r]));
  const frames = frameCount(shape);
  const perFrameBytes = regions
    .filter((r) => r.scales === 'frame' || r.scales === 'pageblock')
    .reduce((sum, r) => sum + r.bytes, 0);
  return {
    shape,
    frames,
    regions,
    totalBytes: alignUp(offset, REGION_ALIGN),
    bytesPerFrame: perFrameBytes / frames,
    region(name: string): RegionLayout {
      const r = byName.get(name);
      if (!r) throw new Error(`native-layout: no region named ${name}`);
      return r;
    },
  };
}

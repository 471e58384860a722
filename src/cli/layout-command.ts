// `shootdown layout`: the shared-memory regions of a machine of a given size.

import { computeLayout, type Layout } from '../../native-layout/compute.js';
import { generateCHeader } from '../../native-layout/c-header.js';
import { formatBytes, renderTable } from './format.js';
import { shapeFromOptions, type MachineOptions } from './machine-options.js';
import { parseChoice } from './parse.js';

export const LAYOUT_FORMATS = ['table', 'json', 'c'] as const;

export interface LayoutOptions extends MachineOptions {
  format: string;
}

export function layoutJson(layout: Layout): object {
  return {
    memBytes: layout.shape.memBytes,
    cpus: layout.shape.cpus,
    frames: layout.frames,
    totalBytes: layout.totalBytes,
    bytesPerFrame: layout.bytesPerFrame,
    shape: layout.shape,
    regions: layout.regions.map((r) => ({
      name: r.name,
      offset: r.offset,
      bytes: r.bytes,
      count: r.count,
      recordBytes: r.recordBytes,
      scales: r.scales,
      doc: r.doc,
      fields: r.fields.map((f) => ({ name: f.name, offset: f.offset, width: f.width, count: f.count })),
    })),
  };
}

export function layoutTable(layout: Layout): string {
  const rows = layout.regions.map((r) => [r.name, r.offset, r.bytes, r.count, r.recordBytes, r.scales, formatBytes(r.bytes)]);
  const s = layout.shape;
  return [
    `machine: ${formatBytes(s.memBytes)} (${layout.frames.toLocaleString('en-US')} frames), ${s.cpus} CPUs`,
    renderTable(['region', 'offset', 'bytes', 'records', 'record bytes', 'scales with', 'size'], rows),
    `total shared memory: ${formatBytes(layout.totalBytes)} (${layout.totalBytes.toLocaleString('en-US')} bytes)`,
    `metadata per 4 KiB frame: ${layout.bytesPerFrame.toFixed(3)} bytes (frame record + pageblock bits; budget 32, Linux struct page is 64)`,
  ].join('\n');
}

export function runLayout(opts: LayoutOptions): string {
  const format = parseChoice('--format', opts.format, LAYOUT_FORMATS);
  const layout = computeLayout(shapeFromOptions(opts));
  if (format === 'json') return JSON.stringify(layoutJson(layout), null, 2);
  if (format === 'c') return generateCHeader(layout);
  return layoutTable(layout);
}

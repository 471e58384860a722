// Emits a C header from the region table, for readers who think in C: one
// struct per record format, the bit definitions, and the region offsets of
// one machine shape.

import * as bits from './bits.js';
import { type Layout } from './compute.js';
import { frameCount } from './shape.js';

const cName = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const macro = (s: string): string => cName(s).toUpperCase().replace(/[^A-Z0-9_]/g, '_');

export function generateCHeader(layout: Layout): string {
  const out: string[] = [];
  const { shape } = layout;
  out.push('/* shootdown shared-memory layout. Generated from native-layout/regions.ts: do not edit. */');
  out.push('#ifndef SHOOTDOWN_LAYOUT_H', '#define SHOOTDOWN_LAYOUT_H', '', '#include <stdint.h>', '');
  out.push('/* Bit formats (native-layout/bits.ts). A PTE is one little-endian uint64_t;');
  out.push(' * the emulator reads it as two 32-bit halves, so *_HI_* bits are bits 32.. of it. */');
  for (const [name, value] of Object.entries(bits)) {
    if (typeof value === 'number') out.push(`#define SD_${name} 0x${(value >>> 0).toString(16)}u`);
  }
  out.push('');
  for (const r of layout.regions) {
    const type = r.scalar === 'f64' ? 'double' : 'int32_t';
    out.push(`/* ${r.doc} */`);
    out.push(`struct sd_${cName(r.name)} {`);
    for (const f of r.fields) {
      const arr = f.count > 1 ? `[${f.count}]` : '';
      out.push(`\t${type} ${cName(f.name)}${arr}; /* +${f.offset}: ${f.doc.replace(/\*\//g, '* /')} */`);
    }
    const used = r.fields.reduce((n, f) => n + f.width * f.count, 0);
    if (r.recordBytes > used) out.push(`\tuint8_t _pad[${r.recordBytes - used}];`);
    out.push('};');
    out.push(`_Static_assert(sizeof(struct sd_${cName(r.name)}) == ${r.recordBytes}, "record size");`, '');
  }
  out.push(`/* Region offsets for a machine of ${shape.memBytes} bytes (${frameCount(shape)} frames) and ${shape.cpus} CPUs;`);
  out.push(' * `shootdown layout --format c --mem SIZE --cpus N` prints them for another shape. */');
  for (const r of layout.regions) {
    out.push(`#define SD_${macro(r.name)}_OFFSET ${r.offset}u`);
    out.push(`#define SD_${macro(r.name)}_COUNT ${r.count}u`);
  }
  out.push(`#define SD_TOTAL_BYTES ${layout.totalBytes}ull`, '', '#endif /* SHOOTDOWN_LAYOUT_H */', '');
  return out.join('\n');
}

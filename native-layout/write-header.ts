// Build step: writes the C header for the default machine shape.
import { writeFileSync } from 'node:fs';
import { generateCHeader } from './c-header.js';
import { computeLayout } from './compute.js';
import { defaultShape } from './shape.js';

const target = process.argv[2] ?? 'dist/shootdown_layout.h';
writeFileSync(target, generateCHeader(computeLayout(defaultShape())));

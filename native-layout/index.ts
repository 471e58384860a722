export * from './shape.js';
export * from './bits.js';
export * from './counters.js';
export * from './regions.js';
export * from './compute.js';
export * from './memory.js';
export * from './fields.js';
export * from "./c-header.js";

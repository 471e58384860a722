// One start-up trial, in a fresh process (the parent, bench/startup.ts,
// spawns it): boots a machine of CPUS CPUs and MEM bytes, runs ipi-storm for
// one op per CPU on the free engine, and prints one JSON line:
// { toFirstOpMs, wallMs, maxRssBytes, sabBytes }. toFirstOpMs counts from
// the process's own start (performance.now() is relative to it) to the
// moment the main thread sees the start barrier open, i.e. every CPU
// worker has loaded and is about to run its first op.

import { createMachineMemory } from '../native-layout/memory.js';
import { defaultShape } from '../native-layout/shape.js';
import { runFree } from '../src/engine/index.js';
import { runStarted } from '../src/engine/control.js';

const cpus = Number(process.env['STARTUP_CPUS'] ?? 64);
const memBytes = Number(process.env['STARTUP_MEM'] ?? 16 * 2 ** 30);
/** STARTUP_BUNDLE=0: the unbundled worker modules (to measure what the bundle buys). */
const workerBundle = process.env['STARTUP_BUNDLE'] !== '0';
const mem = createMachineMemory(defaultShape({ memBytes, cpus }));
let toFirstOpMs = -1;
const timer = setInterval(() => {
  if (toFirstOpMs < 0 && runStarted(mem.views.control)) toFirstOpMs = performance.now();
}, 1);
const res = await runFree({ scenario: 'ipi-storm', memory: mem, cpus, ops: 1, watchdogMs: 30_000, workerBundle });
clearInterval(timer);
if (toFirstOpMs < 0) toFirstOpMs = performance.now();
console.log(JSON.stringify({
  toFirstOpMs,
  wallMs: performance.now(),
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  sabBytes: mem.sab.byteLength,
  ops: res.ops,
}));

// Everything that blocks or spins: the only module kernel/ and hw/ may wait through.
export * from './hook.js';
export * from './spinlock.js';
export * from './mutex.js';
export * from './rwsem.js';
export * from './seqlock.js';
export * from './completion.js';
export * from './cpumask.js';
export * from './wake.js';

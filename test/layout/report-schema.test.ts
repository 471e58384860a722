import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES } from '../../native-layout/counters.js';
import { messageType } from '../../src/report/schema.js';

describe('proto/report.proto', () => {
  it('has a Counters field for every per-CPU counter in native-layout', () => {
    const fields = Object.keys(messageType('Counters').fields);
    for (const name of COUNTER_NAMES) expect(fields).toContain(name);
  });

  it('keeps the RunReport fields scripts depend on', () => {
    const fields = Object.keys(messageType('RunReport').fields);
    expect(fields).toEqual(expect.arrayContaining(['scenario', 'variant', 'cpus', 'seed', 'totals', 'perCpu', 'violationRecords']));
    const v = Object.keys(messageType('ViolationRecord').fields);
    expect(v).toEqual(expect.arrayContaining(['kind', 'cpu', 'va', 'pfn', 'fillGen', 'frameGen', 'op', 'replay']));
  });
});

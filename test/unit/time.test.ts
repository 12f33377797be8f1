import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/shared/time.ts';

describe('parseTime', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  it('reads ISO, epoch ms, now and relative times', () => {
    expect(parseTime('2026-11-27T10:00:00Z', now)).toBe(Date.parse('2026-11-27T10:00:00Z'));
    expect(parseTime('1764237600000', now)).toBe(1764237600000);
    expect(parseTime('now', now)).toBe(now);
    expect(parseTime('-2h', now)).toBe(now - 2 * 3_600_000);
    expect(parseTime('-15m', now)).toBe(now - 15 * 60_000);
    expect(parseTime('-1.5d', now)).toBe(now - 1.5 * 86_400_000);
  });
  it('rejects anything else with the accepted forms', () => {
    expect(() => parseTime('yesterday-ish', now)).toThrow(/not a time: use an ISO date-time/);
    expect(() => parseTime('+2h', now)).toThrow(/not a time/);
    // Not the year 2000, as Date.parse would have it.
    expect(() => parseTime('0', now)).toThrow(/epoch milliseconds have 13 digits/);
    expect(parseTime('2026', now)).toBe(Date.parse('2026-01-01T00:00:00Z'));
  });

  it('refuses times before 1970 or out of range (Kafka looks records up by non-negative epoch ms)', () => {
    expect(() => parseTime('-99999999999d', now)).toThrow(/before 1970-01-01 or out of range/);
    expect(() => parseTime('1969-12-31T23:59:59Z', now)).toThrow(/before 1970/);
    expect(() => parseTime('-1e400d', now)).toThrow(/not a time/);
    expect(parseTime('-0.0001s', now)).toBe(now);
  });
});

import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/cli/time.js';

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
  });
});

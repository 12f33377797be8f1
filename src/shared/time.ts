const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a point in time for the command line: `now`, a relative offset (`-15m`, `-2h`, `-7d`),
 * epoch milliseconds, or an ISO 8601 date-time. Throws with a message naming the accepted forms.
 */
export function parseTime(text: string, now = Date.now()): number {
  const s = text.trim();
  if (s === 'now') return now;
  const rel = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (rel) return inRange(text, Math.round(now - Number(rel[1]) * UNITS[rel[2]!]!));
  if (/^\d{10,16}$/.test(s)) return inRange(text, Number(s));
  // Date.parse would read any short number as a year ("0" is 2000-01-01); only a 4-digit year means one.
  if (/^\d+$/.test(s) && s.length !== 4) throw new Error(`"${text}" is not a time: epoch milliseconds have 13 digits`);
  const t = Date.parse(s);
  if (Number.isNaN(t))
    throw new Error(
      `"${text}" is not a time: use an ISO date-time (2026-11-27T10:00:00Z), epoch milliseconds, now, or a relative time like -2h`,
    );
  return inRange(text, t);
}

/** Kafka looks records up by non-negative epoch milliseconds: a time before 1970 is refused here, not by the broker. */
function inRange(text: string, t: number): number {
  if (!Number.isSafeInteger(t) || t < 0) throw new Error(`"${text}" is before 1970-01-01 or out of range`);
  return t;
}

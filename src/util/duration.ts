// Durations as operators write them in config, policies and API bodies: "90s", "15m", "12h",
// "30d", "2w". One unit per value keeps them unambiguous.
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_PATTERN = /^([1-9][0-9]{0,6})([smhdw])$/;

/** Longer than any expiry or age limit means anything; also keeps every deadline a valid Date. */
export const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d;

export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m)
    throw new RangeError(
      `invalid duration "${text}": expected a positive number and one of s, m, h, d, w (e.g. 15m, 30d)`,
    );
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms > MAX_DURATION_MS) throw new RangeError(`invalid duration "${text}": longer than 100 years`);
  return ms;
}

/** Whether `text` is a duration parseDuration accepts (for schema checks). */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

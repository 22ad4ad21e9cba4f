// Durations as operators write them in config, policies and API bodies: "90s", "15m", "12h",
// "30d", "2w". One unit per value keeps them unambiguous.
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_PATTERN = /^([1-9][0-9]{0,6})([smhdw])$/;

export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m)
    throw new RangeError(
      `invalid duration "${text}": expected a positive number and one of s, m, h, d, w (e.g. 15m, 30d)`,
    );
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

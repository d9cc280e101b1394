/**
 * Time as a kata shows it: minutes and seconds against a limit.
 *
 * @module
 */

/**
 * Formats a duration as `m:ss`, or `h:mm:ss` past an hour.
 *
 * @example
 * ```ts
 * import { formatClock } from "./clock.ts";
 * formatClock(754_000); // "12:34"
 * ```
 */
export function formatClock(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * The countdown line: time left, or time over the limit.
 *
 * @example
 * ```ts
 * import { formatCountdown } from "./clock.ts";
 * formatCountdown(60_000, 30 * 60_000); // "29:00 left"
 * formatCountdown(31 * 60_000, 30 * 60_000); // "1:00 over the limit"
 * ```
 */
export function formatCountdown(elapsedMs: number, limitMs: number): string {
  const left = limitMs - elapsedMs;
  return left >= 0 ? `${formatClock(left)} left` : `${formatClock(-left)} over the limit`;
}

/**
 * What the practice loop and the status board need to know about a kata.
 * The catalog in `katas/` provides it; `lib/` never imports `katas/`.
 *
 * @module
 */

/** A kata as the practice tooling sees it. */
export interface PracticeKata {
  number: number;
  /** Folder and log name: "01-echo-threaded". */
  slug: string;
  title: string;
  timeLimitMinutes: number;
  /** The "repeat until" criterion as the kit measures it. */
  repeatUntil: {
    /** How the status board words it. */
    text: string;
    /** Met after this many passing attempts in a row, each within the time limit. */
    passesInARow: number;
    /** A stricter limit than the kata's for this criterion ("under two minutes"). */
    withinMinutes?: number;
  };
}

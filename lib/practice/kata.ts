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
  /** The lines of the completion standard this kata counts towards. */
  completion?: readonly CompletionItem[];
  /**
   * The track practised, when not the kata's default: "syscalls" (katas 1
   * and 2 against libc). Its attempts are kept, recorded and counted apart.
   */
  track?: string;
}

/**
 * One line of the completion standard. Katas that name the same `text`
 * share the line: it is met when each of them meets what it `needs`.
 */
export interface CompletionItem {
  /** How the status board words it: "Katas 1 and 2 each implemented in one sitting". */
  text: string;
  /** A passing attempt, or a passing attempt within the kata's time limit. */
  needs: "pass" | "pass within the limit";
}

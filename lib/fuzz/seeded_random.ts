/**
 * A small seeded pseudo-random generator (mulberry32) for fuzzing: the same
 * seed gives the same numbers on every machine and every run, so a failing
 * case is reproduced from its seed and number alone. Not for anything secret.
 *
 * @module
 */

/**
 * Mixes a run's seed and a case number into the seed of that case
 * (splitmix32's finaliser), so case n can be rebuilt without replaying the
 * n − 1 cases before it.
 *
 * @example
 * ```ts
 * import { caseSeed } from "./seeded_random.ts";
 * console.log(caseSeed(42, 7) === caseSeed(42, 7)); // true
 * ```
 */
export function caseSeed(seed: number, caseNumber: number): number {
  let h = (seed ^ Math.imul(caseNumber + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * mulberry32: 32 bits of state, fast, and good enough to choose mutations.
 *
 * @example
 * ```ts
 * import { SeededRandom } from "./seeded_random.ts";
 * const random = new SeededRandom(42);
 * const die = random.int(1, 6); // the same number for seed 42, every time
 * const pick = random.pick(["flip", "truncate"]);
 * ```
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor((this.uint32() / 2 ** 32) * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.uint32() / 2 ** 32 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** One element, chosen in proportion to its weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let at = (this.uint32() / 2 ** 32) * total;
    for (const [item, weight] of items) {
      if ((at -= weight) < 0) return item;
    }
    return items[items.length - 1][0];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.uint32() & 0xff;
    return out;
  }
}

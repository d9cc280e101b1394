/**
 * The error of a target that could not be started or may not run, apart
 * from the targets themselves: the attempt checks (`attempt_copy.ts`) throw
 * it too, and the targets use those.
 *
 * @module
 */

/**
 * A target that could not be started; the message says what to do.
 *
 * @example
 * ```ts
 * import { TargetError } from "./target_error.ts";
 * const error = new TargetError("No such file: attempt-001.ts");
 * console.log(error.name); // "TargetError"
 * ```
 */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetError";
  }
}

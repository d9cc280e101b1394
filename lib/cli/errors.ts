/**
 * Errors the command line reports as one sentence, without a stack trace.
 *
 * @module
 */

import { interrupted } from "../tools/runner.ts";

/** Wrong flags or arguments. Exit status 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs a task's `main` and turns every error into one clear line and an exit
 * status: 2 for usage errors, 1 for anything else. The stack trace of an
 * unexpected error helps nobody practising a kata; its message does.
 */
export async function runMain(
  main: () => Promise<number>,
  helpCommand: string,
): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (error) {
    const pending = interrupted();
    if (pending) {
      // Ctrl-C: the cleanup under way exits 130; the errors of the tools it
      // stopped are not worth a word.
      await pending;
      Deno.exit(130);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      console.error(`${message}\nRun \`${helpCommand}\` for the options.`);
      status = 2;
    } else if (error instanceof Deno.errors.PermissionDenied) {
      console.error(deniedByTheSystem(message));
      status = 1;
    } else if (error instanceof Deno.errors.NotCapable) {
      console.error(`Not permitted: ${message}`);
      status = 1;
    } else {
      console.error(`${message}`);
      status = 1;
    }
  }
  const pending = interrupted();
  if (pending) {
    await pending;
    Deno.exit(130);
  }
  Deno.exit(status);
}

/** What Deno calls the file operations whose EACCES it reports, in words. */
const OPERATIONS: Record<string, string> = {
  writefile: "write",
  mkdir: "create the folder",
  open: "open",
  rename: "rename",
  remove: "remove",
  copy: "copy to",
};

/**
 * The system (not Deno's permissions) refused a file operation: say which
 * file, and what to do, instead of Deno's "Permission denied (os error 13):
 * writefile '…'". The kit writes only logs and attempt files, so a folder
 * of the learner's choosing is the way out.
 *
 * @example
 * ```ts
 * import { deniedByTheSystem } from "./errors.ts";
 * deniedByTheSystem("Permission denied (os error 13): mkdir '/srv/logs'");
 * // "Cannot create the folder /srv/logs: permission denied. …"
 * ```
 */
export function deniedByTheSystem(message: string): string {
  const match = /^Permission denied \(os error 13\): (\w+) '(.+)'$/.exec(message);
  if (!match) return `Not permitted: ${message}`;
  const [, operation, path] = match;
  return `Cannot ${OPERATIONS[operation] ?? operation} ${path}: permission denied. ` +
    "Pick a folder this user can write (for the logs: --logs DIR), or change its permissions";
}

/** Translates node:util parseArgs errors into {@linkcode UsageError}s. */
export function usageFromParseError(error: unknown): never {
  if (
    error instanceof TypeError && "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS")
  ) {
    throw new UsageError(
      error.message.split("\n")[0].replace(/\. To specify a positional.*$/, ""),
    );
  }
  throw error;
}

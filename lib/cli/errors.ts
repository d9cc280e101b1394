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
  copy: "copy",
  readfile: "read",
  stat: "read",
  readdir: "list",
};

/** The operations that only read: the way out is read access, not another folder to write. */
const READS = new Set(["readfile", "stat", "readdir"]);

/** Deno's words for an EACCES: `OP 'PATH'`, or `OP 'FROM' -> 'TO'` for a rename or a copy. */
const DENIED = /^Permission denied \(os error 13\): (\w+) '([^']+)'(?: -> '([^']+)')?$/;

/**
 * The system (not Deno's permissions) refused a file operation: say which
 * file, and what to do, in one sentence, instead of Deno's "Permission
 * denied (os error 13): writefile '…'". The kit writes only logs and
 * attempt files, so for a write a folder of the learner's choosing is the
 * way out; for a read, only the file's permissions are.
 *
 * @example
 * ```ts
 * import { deniedByTheSystem } from "./errors.ts";
 * deniedByTheSystem("Permission denied (os error 13): mkdir '/srv/logs'");
 * // "Cannot create the folder /srv/logs: permission denied (give --logs a folder this user can write, or change its permissions)"
 * ```
 */
export function deniedByTheSystem(message: string): string {
  const match = DENIED.exec(message);
  if (!match) return `Not permitted: ${message}`;
  const [, operation, path, destination] = match;
  const what = destination === undefined ? path : `${path} to ${destination}`;
  const advice = READS.has(operation)
    ? "this user may not read it: change its permissions, or run as a user who may"
    : "give --logs a folder this user can write, or change its permissions";
  return `Cannot ${OPERATIONS[operation] ?? operation} ${what}: permission denied (${advice})`;
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

/**
 * A `--file` attempt as the checker runs it, many times in one check: each
 * run reads the file once, its imports are checked once per content (the
 * same bytes pass or fail the same way wherever they sit: see
 * `sandbox.ts`), and what runs is a private copy of exactly the bytes that
 * were checked. Reading the file once is what makes it sound: checked from
 * one read and run from another, a save in between would run unchecked.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { importRefusal, RESOLUTION_FLAGS } from "./sandbox.ts";
import { TargetError } from "./target_error.ts";

/** Contents (SHA-256, hex) whose imports were checked, or are being checked: each is checked once. */
const checked = new Map<string, Promise<void>>();

/** The attempt as one run sees it: what to run, and how to say things in the learner's terms. */
export interface AttemptRun {
  /** The file to run: the private copy, or the attempt itself where there can be no copy. */
  path: string;
  /** `text` (the program's stderr) with the copy's name replaced by the attempt's. */
  shown(text: string): string;
}

/**
 * The private copies of one attempt, in a folder of their own that only
 * this process writes to, one per content; removed on dispose.
 *
 * @example
 * ```ts ignore
 * import { AttemptCopies } from "./attempt_copy.ts";
 * await using copies = new AttemptCopies("logs/03-http-client/attempt-001.ts");
 * const { path } = await copies.checked(); // throws TargetError for a forbidden import
 * ```
 */
export class AttemptCopies implements AsyncDisposable {
  readonly #attempt: string;
  /** The folder, made on first use; undefined where this process may not make one. */
  #folder: Promise<string | undefined> | undefined;
  /** Copies made or being made, by content: each is written once, before it is checked or run. */
  readonly #copies = new Map<string, Promise<string>>();

  constructor(attempt: string) {
    this.#attempt = attempt;
  }

  /**
   * Reads the attempt now and returns a private copy of those bytes, whose
   * imports passed the check (checked unless the same bytes passed before).
   * Throws {@linkcode TargetError} for a forbidden import or a missing file.
   * Where the checker may not read the attempt or write a copy, the attempt
   * itself is checked and run, as it is.
   */
  async checked(): Promise<AttemptRun> {
    const folder = await (this.#folder ??= makeFolder());
    const bytes = folder === undefined ? undefined : await this.#read();
    if (folder === undefined || bytes === undefined) {
      await assertAttemptImports(this.#attempt);
      return { path: this.#attempt, shown: (text) => text };
    }
    const digest = await sha256(bytes);
    let copying = this.#copies.get(digest);
    if (!copying) {
      copying = writeCopy(folder, digest, this.#attempt, bytes);
      this.#copies.set(digest, copying);
      copying.catch(() => this.#copies.delete(digest));
    }
    const copy = await copying;
    let checking = checked.get(digest);
    if (!checking) {
      checking = assertAttemptImports(copy).catch((error) => {
        checked.delete(digest);
        if (!(error instanceof TargetError)) throw error;
        throw new TargetError(inTermsOf(error.message, copy, this.#attempt));
      });
      checked.set(digest, checking);
    }
    await checking;
    return { path: copy, shown: (text) => inTermsOf(text, copy, this.#attempt) };
  }

  /** The attempt's bytes, or undefined where this process may not read them. */
  async #read(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    try {
      return await Deno.readFile(this.#attempt);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new TargetError(`No such file: ${this.#attempt}`);
      if (error instanceof Deno.errors.IsADirectory) throw new TargetError(`Not a file: ${this.#attempt}`);
      if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) return undefined;
      throw error;
    }
  }

  /** Removes the copies. Safe to call twice. */
  async [Symbol.asyncDispose](): Promise<void> {
    const folder = await this.#folder;
    this.#folder = Promise.resolve(undefined);
    if (folder === undefined) return;
    await Promise.allSettled(this.#copies.values());
    await Deno.remove(folder, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    live.delete(folder);
  }
}

/**
 * Folders of copies not yet removed. Ctrl-C ends the kit with Deno.exit()
 * while a check's `await using` is still pending, so dispose never runs;
 * Deno dispatches "unload" on that exit too, and the copies go then.
 */
const live = new Set<string>();
let removeOnExit = false;

/** A folder only this user can enter (mode 0700), or undefined where the checker may not make one. */
async function makeFolder(): Promise<string | undefined> {
  try {
    const folder = await Deno.makeTempDir({ prefix: "netkata-attempt-" });
    live.add(folder);
    if (!removeOnExit) {
      removeOnExit = true;
      globalThis.addEventListener("unload", () => {
        for (const left of live) {
          try {
            Deno.removeSync(left, { recursive: true });
          } catch {
            // Gone already, or not ours to remove any more: nothing to do on the way out.
          }
        }
      });
    }
    return folder;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) return undefined;
    throw error;
  }
}

/**
 * Writes `bytes` to `folder/<digest>/<the attempt's own name>`, so that the
 * program's messages still name the learner's file and line.
 */
async function writeCopy(folder: string, digest: string, attempt: string, bytes: Uint8Array): Promise<string> {
  const directory = `${folder}/${digest.slice(0, 16)}`;
  await Deno.mkdir(directory, { mode: 0o700 });
  const copy = `${directory}/${attempt.split("/").at(-1)}`;
  await Deno.writeFile(copy, bytes, { createNew: true, mode: 0o600 });
  return copy;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `text` with every mention of `copy` (as a path and as a file URL) replaced by `attempt`. */
function inTermsOf(text: string, copy: string, attempt: string): string {
  return text.replaceAll(pathToFileURL(copy).href, fileUrlOf(attempt)).replaceAll(copy, attempt);
}

/** The file URL Deno prints for `path`, relative paths resolved against the working folder. */
function fileUrlOf(path: string): string {
  try {
    return pathToFileURL(path).href;
  } catch {
    return path; // no access to the working folder: the path says enough
  }
}

/**
 * Refuses, with a {@linkcode TargetError} of one sentence, an attempt that
 * imports what an attempt may not, as it is now; the check is remembered
 * for these bytes, so the runs that follow do not repeat it.
 *
 * @example
 * ```ts ignore
 * import { assertAttemptChecked } from "./attempt_copy.ts";
 * await assertAttemptChecked("logs/03-http-client/attempt-001.ts");
 * ```
 */
export async function assertAttemptChecked(attempt: string): Promise<void> {
  await using copies = new AttemptCopies(attempt);
  await copies.checked();
}

/** How long reading an attempt's module graph may take: it is local, so moments. */
const GRAPH_TIMEOUT_MS = 15_000;

/**
 * Refuses, with a {@linkcode TargetError} of one sentence, a Deno attempt
 * that imports anything but Node's built-in modules (see `sandbox.ts`: Deno's
 * permissions do not cover module loading). Reads the module graph with the
 * running Deno's own `deno info`, resolved as `deno run` will resolve it.
 *
 * @example
 * ```ts ignore
 * import { assertAttemptImports } from "./attempt_copy.ts";
 * await assertAttemptImports("logs/01-echo-threaded/attempt-001.ts");
 * ```
 */
export async function assertAttemptImports(path: string): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...RESOLUTION_FLAGS, path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(GRAPH_TIMEOUT_MS),
  }).output();
  if (output.signal) {
    throw new TargetError(
      `Cannot read what ${path} imports: deno info did not finish within ${GRAPH_TIMEOUT_MS / 1000} s`,
    );
  }
  if (!output.success) {
    const said = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1) ?? "";
    throw new TargetError(`Cannot read what ${path} imports: ${said || `deno info exited with status ${output.code}`}`);
  }
  const refusal = importRefusal(JSON.parse(new TextDecoder().decode(output.stdout)), path);
  if (refusal) throw new TargetError(refusal);
}

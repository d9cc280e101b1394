/**
 * Building a C reference with the system's compiler, so that the same
 * checker grades it through a command target. The compiler is a registry
 * tool like any other: it runs through the tool runner, which says how to
 * install it when it is missing.
 *
 * @module
 */

import { shellQuote, spawnTool, ToolError, type Transcript } from "./runner.ts";

/** A compiler that runs longer than this is stuck: the references build in well under a second. */
const COMPILE_LIMIT_MS = 60_000;

/** Options for {@linkcode buildC}. */
export interface BuildOptions {
  /** Gets the compiler's command line. */
  transcript?: Transcript;
}

/**
 * Compiles `source` with `cc -O2 -pthread` into `outputDirectory` and
 * returns the binary's path. Throws {@linkcode ToolError} when there is no
 * compiler or the build fails, with the compiler's own message.
 *
 * @example
 * ```ts ignore
 * import { buildC } from "./build_c.ts";
 * const binary = await buildC(new URL("../../katas/01-echo-threaded/reference.c", import.meta.url), "logs/.build");
 * ```
 */
export async function buildC(
  source: URL,
  outputDirectory: string,
  options: BuildOptions = {},
): Promise<string> {
  await Deno.mkdir(outputDirectory, { recursive: true });
  const path = decodeURIComponent(source.pathname);
  const binary = `${outputDirectory}/${path.split("/").at(-1)!.replace(/\.c$/, "")}`;
  await using compiler = spawnTool("cc", [
    "-O2",
    "-Wall",
    "-Wextra",
    "-pthread",
    "-o",
    binary,
    path,
  ], { ...options, lifetimeMs: COMPILE_LIMIT_MS });
  const status = await compiler.finished;
  if (!status.success) {
    // All of it: the first error is what the learner needs, not the last line.
    throw new ToolError(
      "cc",
      "failed",
      `$ ${shellQuote(compiler.argv)} failed:\n${compiler.stderr()}`,
    );
  }
  return binary;
}

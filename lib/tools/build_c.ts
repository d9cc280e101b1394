/**
 * Building a C reference with the system's compiler, so that the same
 * checker grades it through a command target.
 *
 * @module
 */

import { TargetError } from "../check/target.ts";

/**
 * Compiles `source` with `cc -O2 -pthread` into `outputDirectory` and
 * returns the binary's path. Throws {@linkcode TargetError} when there is no
 * compiler or the build fails, with the compiler's own message.
 */
export async function buildC(
  source: URL,
  outputDirectory: string,
): Promise<string> {
  await Deno.mkdir(outputDirectory, { recursive: true });
  const binary = `${outputDirectory}/${decodeURIComponent(source.pathname).split("/").at(-1)!.replace(/\.c$/, "")}`;
  const args = [
    "-O2",
    "-Wall",
    "-Wextra",
    "-pthread",
    "-o",
    binary,
    decodeURIComponent(source.pathname),
  ];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("cc", {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TargetError(
        "No C compiler (cc) found: install one (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install), or check the Deno reference with --reference",
      );
    }
    throw error;
  }
  if (!output.success) {
    throw new TargetError(
      `cc ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return binary;
}

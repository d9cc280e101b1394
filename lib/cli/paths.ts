/**
 * Paths as the learner sees them. `deno task` runs every task in the
 * project folder and says in the INIT_CWD variable where the learner was:
 * a path they type (`--file mine.ts`, `--logs ../logs`) means a path from
 * there, and a path the kit prints is shortest from there too.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

const ROOT = new URL("../../", import.meta.url);

/**
 * Where the learner ran the command: INIT_CWD under `deno task` (when the
 * task may read it: `--allow-env=INIT_CWD`), else the current directory.
 */
export function userDirectory(): string {
  const allowed = Deno.permissions.querySync({ name: "env", variable: "INIT_CWD" }).state === "granted";
  const initCwd = allowed ? Deno.env.get("INIT_CWD") : undefined;
  return initCwd && initCwd.startsWith("/") ? initCwd.replace(/\/+$/, "") || "/" : Deno.cwd();
}

/**
 * A path the learner typed, made absolute from where they ran the command.
 *
 * @example
 * ```ts ignore
 * import { userPath } from "./paths.ts";
 * userPath("mine.ts"); // "/home/me/katas/mine.ts" when run from /home/me/katas
 * ```
 */
export function userPath(path: string): string {
  if (path.startsWith("/")) return path;
  const joined = `${userDirectory()}/${path}`.split("/");
  const parts: string[] = [];
  for (const part of joined) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * `relative` inside the repository, as a path that works both for the kit
 * (which runs in its own current directory) and for the learner reading it
 * (who is in theirs): relative when the two are the same folder and the path
 * is below it, absolute otherwise.
 *
 * @example
 * ```ts ignore
 * import { repoPath } from "./paths.ts";
 * repoPath("logs"); // "logs" when run from the project folder
 * ```
 */
export function repoPath(relative: string): string {
  const path = decodeURIComponent(new URL(relative, ROOT).pathname);
  const cwd = Deno.cwd();
  const same = userDirectory() === cwd;
  return same && path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}

/**
 * The logs folder: `--logs` as the learner typed it (`flag`), or the kit's
 * own. Refused at once, as a usage error, where Deno lets no program near
 * without --allow-all (/proc, /sys, /dev): every later step there would fail
 * with Deno's "run again with the --allow-all flag", which is the wrong fix.
 * Any other trouble (a folder not made yet, a file) is for the task that uses
 * the folder to say: it knows what the folder is for.
 *
 * @example
 * ```ts ignore
 * import { logsFolder } from "./paths.ts";
 * await logsFolder(undefined); // "logs" when run from the project folder
 * await logsFolder("/proc/nope"); // throws UsageError: Cannot use /proc/nope as the logs folder: …
 * ```
 */
export async function logsFolder(flag: string | undefined): Promise<string> {
  const root = flag === undefined ? repoPath("logs") : userPath(flag);
  try {
    await Deno.stat(root);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) return root;
    const top = root.startsWith("/") ? `/${root.split("/")[1]}` : root;
    throw new UsageError(
      `Cannot use ${root} as the logs folder: the kit may not write under ${top} (give --logs a folder in your home or project)`,
    );
  }
  return root;
}

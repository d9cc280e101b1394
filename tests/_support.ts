/**
 * Tests that need more than `--allow-net` are ignored, with the reason in
 * their name, when `deno test --allow-net` runs them; `deno task test` grants
 * what they need and runs them for real.
 *
 * @module
 */

type Needed = "read" | "write" | "run" | "env" | "ffi";

/**
 * Returns the `ignore` flag and a name suffix for a test needing `names`.
 *
 * @example
 * ```ts ignore
 * const needs = requires("run");
 * Deno.test({ name: `cli prints help${needs.suffix}`, ignore: needs.ignore, fn: async () => {} });
 * ```
 */
export function requires(
  ...names: Needed[]
): { ignore: boolean; suffix: string } {
  const missing = names.filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
  return missing.length === 0 ? { ignore: false, suffix: "" } : {
    ignore: true,
    suffix: ` [ignored: needs --allow-${missing.join(", --allow-")}; runs in deno task test]`,
  };
}

/** True when `program` can be started (it is on PATH). Needs --allow-run. */
export async function hasProgram(
  program: string,
  args = ["--version"],
): Promise<boolean> {
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    return false;
  }
  try {
    await new Deno.Command(program, { args, stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with a fresh temporary folder, removed afterwards whatever happens. */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Whether this process is root, the condition for the tests that make
 * network namespaces and capture packets. False when the uid cannot be read
 * (no --allow-sys=uid): those tests are then ignored.
 */
export function isRoot(): boolean {
  if (
    Deno.permissions.querySync({ name: "sys", kind: "uid" }).state !== "granted"
  ) return false;
  return Deno.uid() === 0;
}

/** The project's folder, ending in "/": the tests run the kit's tasks from it. */
export const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/**
 * `deno run` arguments for `tasks/SCRIPT ARGS --logs LOGS`, with what a kata
 * task is granted in deno.json narrowed to the project and a private logs
 * folder: a test never reads or writes the learner's `logs/`.
 *
 * @example
 * ```ts ignore
 * new Deno.Command(Deno.execPath(), { args: kitArgs("kata.ts", ["1", "check"], logs), cwd: ROOT });
 * ```
 */
export function kitArgs(script: string, args: readonly string[], logs: string): string[] {
  return [
    "run",
    "--allow-net",
    `--allow-read=${ROOT},${logs}`,
    `--allow-write=${logs}`,
    "--allow-run",
    `tasks/${script}`,
    ...args,
    "--logs",
    logs,
  ];
}

/** How a task run ended, and what it printed. */
export interface KitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tasks/SCRIPT ARGS` as {@linkcode kitArgs} says, with no input and no
 * colours, to its end.
 *
 * @example
 * ```ts ignore
 * const { code, stdout } = await runKit("status.ts", ["--json"], logs);
 * ```
 */
export async function runKit(script: string, args: readonly string[], logs: string): Promise<KitRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: kitArgs(script, args, logs),
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** `text` without its ANSI colours: Deno colours output into a pipe, too, unless NO_COLOR is set. */
export function plain(text: string): string {
  return text.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
}

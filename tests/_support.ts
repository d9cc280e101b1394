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

/**
 * Result files that never overwrite one another. Files named by the time
 * collide when two runs start in the same second; creating the file with
 * `createNew` claims a name atomically, and the loser takes the next one.
 *
 * @module
 */

/**
 * Creates `<stem><extension>` holding `data`, or `<stem>-2<extension>`,
 * `<stem>-3<extension>`… where that exists, and returns the stem it used.
 * Two processes racing for a name each get a different one.
 *
 * @example
 * ```ts ignore
 * import { createUniqueFile } from "./unique_file.ts";
 * const stem = await createUniqueFile("logs/06-tcp-vs-udp/2026-11-27T01-18-46", ".json", "{}\n");
 * // "…/2026-11-27T01-18-46", or "…/2026-11-27T01-18-46-2" if the first was taken
 * ```
 */
export async function createUniqueFile(
  stem: string,
  extension: string,
  data: string | Uint8Array = new Uint8Array(0),
): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  for (let n = 1;; n++) {
    const candidate = n === 1 ? stem : `${stem}-${n}`;
    try {
      await Deno.writeFile(`${candidate}${extension}`, bytes, { createNew: true });
      return candidate;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

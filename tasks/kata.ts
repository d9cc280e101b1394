/**
 * `deno task kata:N …` — one kata's practice session, checker, reference
 * and mistake log. The kata's number picks its catalog entry; its kind
 * (`lib/kinds/`) does the rest.
 *
 * @module
 */

import { findKata, KATAS } from "../katas/catalog.ts";
import { runMain, UsageError } from "../lib/cli/errors.ts";
import { runKata } from "../lib/kinds/mod.ts";

async function main(args: string[]): Promise<number> {
  const kata = /^\d+$/.test(args[0] ?? "") ? findKata(Number(args[0])) : undefined;
  if (!kata) {
    throw new UsageError(
      `There is no kata ${args[0] ?? ""}: katas are numbered ${KATAS[0].number} to ${KATAS.at(-1)!.number}`,
    );
  }
  return await runKata(kata, args.slice(1));
}

if (import.meta.main) {
  await runMain(() => main(Deno.args), `deno task kata:${Deno.args[0] ?? "N"} --help`);
}

/**
 * `deno task bench echo|http|pcap|check` — the benchmarks, side by side in
 * interleaved rounds. Everything but the entry point lives in `lib/bench/`;
 * `check` (save to verdict of a passing attempt, katas 1–4) is wired here,
 * where the catalog and the kinds' subjects may be imported.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { KATAS } from "../katas/catalog.ts";
import { formatCheckLatency, type LatencyKata, measureCheckLatency } from "../lib/bench/check_latency.ts";
import { main } from "../lib/bench/main.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { clientKataSubject } from "../lib/kinds/client.ts";
import { serverKataSubject } from "../lib/kinds/server.ts";

/** Katas 1–4 with the subject practice makes of an attempt file. */
function codeKatas(): LatencyKata<unknown>[] {
  return KATAS.flatMap((kata): LatencyKata<unknown>[] => {
    if (kata.kind === "server") {
      return [
        { ...kata, subjectOf: (path) => serverKataSubject(kata, { kind: "deno-file", path }) } as LatencyKata<unknown>,
      ];
    }
    if (kata.kind === "client") {
      return [
        { ...kata, subjectOf: (path) => clientKataSubject(kata, { kind: "deno-file", path }) } as LatencyKata<unknown>,
      ];
    }
    return [];
  });
}

async function benchCheck(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { runs: { type: "string" }, "type-check": { type: "string" }, help: { type: "boolean" } },
    }));
  } catch (error) {
    usageFromParseError(error);
  }
  if (values.help) return await main(["--help"]);
  const runs = Number(values.runs ?? 3);
  if (!Number.isInteger(runs) || runs < 3 || runs > 20) {
    throw new UsageError(`--runs takes a whole number from 3 to 20, not "${values.runs}"`);
  }
  const typeCheck = values["type-check"] ?? "language server";
  if (!["language server", "deno check", "none"].includes(typeCheck)) {
    throw new UsageError(`--type-check takes "language server", "deno check" or "none", not "${typeCheck}"`);
  }
  console.log(formatCheckLatency(await measureCheckLatency(codeKatas(), { runs, typeCheck: typeCheck as "none" })));
  return 0;
}

if (import.meta.main) {
  await runMain(
    () => Deno.args[0] === "check" ? benchCheck(Deno.args.slice(1)) : main(Deno.args),
    "deno task bench --help",
  );
}

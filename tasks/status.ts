/**
 * `deno task status` — the completion standard: where the learner stands on
 * every kata, from the attempt history and the mistake logs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { KATAS } from "../katas/catalog.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { practiceTracks } from "../lib/kinds/mod.ts";
import { readAttempts } from "../lib/practice/history.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { readMistakes } from "../lib/practice/mistakes.ts";
import { completionStandard, formatStatus, standingOf } from "../lib/practice/status.ts";
import { repoPath } from "../lib/cli/paths.ts";

const HELP = `deno task status — where you stand on every kata

Usage:
  deno task status [--json] [--logs DIR]

Reads logs/attempts.jsonl and the mistake logs logs/NN-name.md, and shows per
kata: attempts, passes, best and last time against the limit, mistakes logged,
and whether its "repeat until" criterion is met; then the completion standard.
Katas 1 and 2 have a second row for their syscall track (--track syscalls),
whose attempts count apart.`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        logs: { type: "string" },
      },
    }));
  } catch (error) {
    usageFromParseError(error);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const logs = new LogPaths(values.logs ?? repoPath("logs"));
  try {
    await Deno.stat(logs.root);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new UsageError(`No logs folder at ${logs.root}`);
  }
  const history = await readAttempts(logs.history);
  const standings = await Promise.all(
    practiceTracks(KATAS).map(async (kata) =>
      standingOf(
        kata,
        history.attempts,
        (await readMistakes(logs.mistakes(kata))).length,
      )
    ),
  );
  // The standard is per kata; a second track is a row of its own, not a second kata.
  const standard = completionStandard(standings.filter((standing) => standing.kata.track === undefined));
  if (values.json) {
    console.log(
      JSON.stringify(
        { standings, standard, damagedLines: history.damagedLines },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(formatStatus(standings, standard));
  if (history.damagedLines.length > 0) {
    console.log(
      `\nSkipped ${history.damagedLines.length} damaged line(s) of ${logs.history} (line ${
        history.damagedLines.join(", ")
      }); they are still in the file.`,
    );
  }
  return 0;
}

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task status --help");
}

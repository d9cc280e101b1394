/**
 * `deno task status` — the completion standard: where the learner stands on
 * every kata, from the attempt history and the mistake logs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { KATAS } from "../katas/catalog.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { readAttempts } from "../lib/practice/history.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { readMistakes } from "../lib/practice/mistakes.ts";
import { completionStandard, dueNow, formatStatus, standingsOf } from "../lib/practice/status.ts";
import { logsFolder } from "../lib/cli/paths.ts";

const HELP = `deno task status — where you stand on every kata

Usage:
  deno task status [--json] [--logs DIR]

Reads logs/attempts.jsonl and the mistake logs logs/NN-name.md, and shows per
kata (and per track, where a kata has several): attempts, passes, best and
last time against the limit, mistakes logged, whether its "repeat until"
criterion is met, and when it is due again (spaced repetition: a pass within
the limit comes back after 1, 3, 7, then 21 days; a failure the next day).
Then which kata to practise next, and each completion item, met or not, with
its evidence. DIR is read from the folder you ran the command in.`;

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
  const logs = new LogPaths(await logsFolder(values.logs));
  let found;
  try {
    found = await Deno.stat(logs.root);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new UsageError(`No logs folder at ${logs.root}`);
  }
  if (!found.isDirectory) {
    throw new UsageError(
      `${logs.root} is a file, not a logs folder: give --logs the folder that holds attempts.jsonl`,
    );
  }
  const history = await readAttempts(logs.history);
  // standingOf() keeps each continued attempt once, as it last stood.
  const standings = (await Promise.all(
    KATAS.map(async (kata) => standingsOf(kata, history.attempts, (await readMistakes(logs.mistakes(kata))).length)),
  )).flat();
  const standard = completionStandard(standings);
  if (values.json) {
    const next = dueNow(standings).map((s) => ({ kata: s.kata.number, track: s.track, reason: s.due.reason }));
    console.log(JSON.stringify({ standings, next, standard, damagedLines: history.damagedLines }, null, 2));
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

/**
 * `deno task link-check [--link kit|netem] [--json]` — the shaped path
 * measured against what was asked: delay, rate, loss, ceiling. Everything
 * but the argument parsing lives in `lib/loss/link_check.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { linkCheck } from "../lib/loss/link_check.ts";

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { link: { type: "string", default: "kit" }, json: { type: "boolean" }, help: { type: "boolean" } },
    }));
  } catch (error) {
    usageFromParseError(error);
  }
  if (values.help) {
    console.log(
      "deno task link-check [--link kit|netem] [--json]: delay, rate, loss and ceiling of the shaped path, measured",
    );
    return 0;
  }
  if (values.link !== "kit" && values.link !== "netem") {
    throw new UsageError(`--link is kit or netem, not "${values.link}"`);
  }
  return await linkCheck({ link: values.link, json: values.json });
}

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task link-check --help");
}

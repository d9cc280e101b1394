/**
 * `deno task bench echo|http|pcap` — the benchmarks, side by side in one run.
 * Everything but the entry point lives in `lib/bench/`.
 *
 * @module
 */

import { main } from "../lib/bench/main.ts";
import { runMain } from "../lib/cli/errors.ts";

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task bench --help");
}

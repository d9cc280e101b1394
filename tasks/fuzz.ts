/**
 * `deno task fuzz http|pcap` — the long version of the suite's seeded fuzz
 * tests. Everything but the entry point lives in `lib/fuzz/main.ts`.
 *
 * @module
 */

import { runMain } from "../lib/cli/errors.ts";
import { main } from "../lib/fuzz/main.ts";

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task fuzz --help");
}

/**
 * `deno task pcap FILE` — annotate any capture (pcap or pcapng). Everything
 * but the entry point lives in `lib/pcap/main.ts`.
 *
 * @module
 */

import { runMain } from "../lib/cli/errors.ts";
import { main } from "../lib/pcap/main.ts";

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task pcap --help");
}

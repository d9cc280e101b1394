/**
 * Losing packets on purpose with nftables, for `--link nftables`: dropping
 * on the **input** hook (dropping on output makes the sender's own write
 * fail with EPERM, which is not loss at all). Small UDP datagrams (≤ 100
 * bytes) are spared: iperf3's set-up datagram lost would hang the run.
 * nftables only drops: delay and rate need netem or the kit's emulator
 * (./path.ts chooses).
 *
 * @module
 */

import { ToolError } from "../tools/runner.ts";
import type { Lab } from "./lab.ts";

const TABLE = "netkata";

/**
 * Drops `percent` of the packets entering `lab`. Call again to change the
 * rate (the previous rule is replaced), or with 0 to stop.
 *
 * @example
 * ```ts ignore
 * await applyNftLoss(lab, 5);
 * ```
 */
export async function applyNftLoss(lab: Lab, percent: number): Promise<void> {
  await clearNftLoss(lab);
  const perMille = Math.round(percent * 10);
  await lab.run("nft", ["-f", "-"], {
    stdin: `table inet ${TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    udp length <= 100 accept
    numgen random mod 1000 < ${perMille} drop
  }
}
`,
  });
}

async function clearNftLoss(lab: Lab): Promise<void> {
  try {
    await lab.run("nft", ["delete", "table", "inet", TABLE]);
  } catch (error) {
    if (
      !(error instanceof ToolError) ||
      !/No such file|does not exist/.test(error.message)
    ) throw error;
  }
}

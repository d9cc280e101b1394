/**
 * Losing packets on purpose. netem (`tc qdisc … netem loss N%`) where the
 * kernel has it, with delay and rate if asked; otherwise nftables, dropping
 * on the **input** hook (dropping on output makes the sender's own write
 * fail with EPERM, which is not loss at all). Small UDP datagrams (≤ 100
 * bytes) are spared: iperf3's set-up datagram lost would hang the run.
 *
 * @module
 */

import { ToolError } from "../tools/runner.ts";
import type { Lab } from "./lab.ts";

/** How loss was applied, and what could not be. */
export interface LossShaping {
  method: "netem" | "nftables";
  /** A sentence for the learner when something asked for is unavailable. */
  notice?: string;
}

/** Options for {@linkcode applyLoss}. */
export interface LossOptions {
  /** Per cent of packets dropped, 0 to 100. */
  percent: number;
  /** One-way delay in ms (netem only). */
  delayMs?: number;
  /** Rate limit such as "100mbit" (netem only). */
  rate?: string;
}

const TABLE = "netkata";

/**
 * Drops `percent` of the packets entering `lab` on `device`. Call again to
 * change the rate (the previous rule is replaced), or with 0 to stop.
 */
export async function applyLoss(
  lab: Lab,
  device: string,
  options: LossOptions,
): Promise<LossShaping> {
  const netem = ["loss", `${options.percent}%`];
  if (options.delayMs) netem.push("delay", `${options.delayMs}ms`);
  if (options.rate) netem.push("rate", options.rate);
  try {
    await lab.run("tc", [
      "qdisc",
      "replace",
      "dev",
      device,
      "root",
      "netem",
      ...netem,
    ]);
    return { method: "netem" };
  } catch (error) {
    if (
      !(error instanceof ToolError) ||
      !/qdisc kind is unknown|No such file/.test(error.message)
    ) throw error;
  }
  await clearNftLoss(lab);
  const perMille = Math.round(options.percent * 10);
  await lab.run("nft", [
    "-f",
    "-",
  ], {
    stdin: `table inet ${TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    udp length <= 100 accept
    numgen random mod 1000 < ${perMille} drop
  }
}
`,
  });
  const missing = [options.delayMs ? "delay" : "", options.rate ? "rate" : ""]
    .filter(Boolean);
  return {
    method: "nftables",
    notice: `This kernel has no netem: loss is applied with nftables on the input hook${
      missing.length ? `, and ${missing.join(" and ")} cannot be` : ""
    }.`,
  };
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

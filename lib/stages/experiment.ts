/**
 * Stages for the loss experiment (Kata 6): sanity checks that make the data
 * worth explaining. The loss applied must be the loss asked for, TCP must
 * slow down as loss rises, and UDP must deliver its rate less the loss.
 *
 * @module
 */

import { failedRuns } from "../loss/report.ts";
import { spread } from "../loss/stats.ts";
import type { SweepResult } from "../loss/sweep.ts";
import { type Stage, StageFailure, StageSkipped } from "../check/stage.ts";

/** What an experiment stage works with. */
export interface ExperimentContext {
  result: SweepResult;
  /** The UDP sending rate in bits/s. */
  udpRate: number;
}

/** Loss measured may stray from loss asked by this many points, or this fraction of it. */
const LOSS_TOLERANCE_POINTS = 1;
const LOSS_TOLERANCE_FRACTION = 0.25;

/**
 * A sweep with failed runs has medians over fewer runs than asked, or none:
 * the stages after this one would judge a partial picture.
 */
export const everyRunFinished: Stage<ExperimentContext> = {
  name: "every run of the sweep finished",
  run({ result }) {
    const failures = failedRuns(result);
    if (failures.length > 0) {
      throw new StageFailure(
        `${failures.length} run${failures.length === 1 ? "" : "s"} failed: ${failures.join("; ")}`,
        { hint: "Run the sweep again; a server that stays busy is in use by someone else." },
      );
    }
    return Promise.resolve();
  },
};

/**
 * The loss the path caused: UDP's loss less what the receiver's full socket
 * buffer dropped, where the sweep counted that (a receiver not scheduled in
 * time on a busy machine is not the path).
 */
const pathLoss = (level: SweepResult["levels"][number]) => (level.udp.pathLossPercent ?? level.udp.lossPercent).median;

export const lossApplied: Stage<ExperimentContext> = {
  name: "the loss UDP saw matches the loss asked for",
  run({ result }) {
    if (result.method === "remote") {
      throw new StageSkipped(
        "the server is remote: its loss is not the kit's to check",
      );
    }
    const off = result.levels.filter((level) => {
      const tolerance = Math.max(
        LOSS_TOLERANCE_POINTS,
        level.loss * LOSS_TOLERANCE_FRACTION,
      );
      return Math.abs(pathLoss(level) - level.loss) > tolerance;
    });
    if (off.length > 0) {
      throw new StageFailure(
        off.map((level) =>
          `asked ${level.loss}%, UDP lost ${level.udp.lossPercent.median.toFixed(2)}%${
            level.udp.pathLossPercent ? ` (${pathLoss(level).toFixed(2)}% on the path)` : ""
          }`
        ).join("; "),
        {
          hint: "Loss must apply to packets entering each namespace (the input hook), on the link the traffic uses.",
        },
      );
    }
    return Promise.resolve(
      result.levels.map((l) => `${l.loss}% → ${pathLoss(l).toFixed(2)}%`).join(", ") +
        (result.levels.some((l) => l.udp.pathLossPercent) ? " (less the receiver's own buffer drops)" : ""),
    );
  },
};

export const tcpSlowsDown: Stage<ExperimentContext> = {
  name: "TCP goodput at the highest loss is below TCP goodput at the lowest",
  run({ result }) {
    const first = result.levels[0];
    const last = result.levels.at(-1)!;
    if (result.levels.length < 2 || first.loss === last.loss) {
      throw new StageSkipped("needs at least two loss levels");
    }
    if (!(last.tcp.goodput.median < first.tcp.goodput.median)) {
      throw new StageFailure(
        `TCP: ${first.loss}% → ${first.tcp.goodput.median.toFixed(0)} bit/s, ${last.loss}% → ${
          last.tcp.goodput.median.toFixed(0)
        } bit/s`,
      );
    }
    return Promise.resolve(
      `${(first.tcp.goodput.median / last.tcp.goodput.median).toFixed(0)}× slower at ${last.loss}%`,
    );
  },
};

export const udpDelivers: Stage<ExperimentContext> = {
  name: "UDP delivers its sending rate less the loss (within 10%)",
  run({ result, udpRate }) {
    // What the sender really sent, where iperf3 says it (a sender short of
    // CPU sends less than asked); else the rate asked.
    const sent = (level: SweepResult["levels"][number]) => {
      const offered = level.udp.runs.map((run) => run.offered);
      return offered.length > 0 && offered.every((rate) => rate !== undefined)
        ? spread(offered as number[]).median
        : udpRate;
    };
    const expectedOf = (level: SweepResult["levels"][number]) => sent(level) * (1 - level.udp.lossPercent.median / 100);
    const off = result.levels.filter((level) => {
      const expected = expectedOf(level);
      return Math.abs(level.udp.goodput.median - expected) > expected * 0.1;
    });
    if (off.length > 0) {
      throw new StageFailure(
        `UDP goodput is off the sending rate at ${
          off.map((l) => {
            const mbit = (bits: number) => (bits / 1e6).toFixed(2);
            const lost = l.udp.lossPercent.median;
            return `${l.loss}% (${mbit(l.udp.goodput.median)} Mbit/s, expected ${mbit(expectedOf(l))}: ${
              mbit(sent(l))
            } sent less the ${lost.toFixed(1)}% lost)`;
          }).join(", ")
        }`,
        {
          hint: "Read the receiver's figure (end.sum_received), not the sender's.",
        },
      );
    }
    return Promise.resolve();
  },
};

/** Parses an iperf3-style rate: "100M", "1.5G", "800k", "1000". */
export function parseRate(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!match) return undefined;
  const scale = {
    "": 1,
    k: 1e3,
    m: 1e6,
    g: 1e9,
  }[match[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(match[1]) * scale;
}

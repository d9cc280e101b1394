/**
 * Stages for the loss experiment (Kata 6): sanity checks that make the data
 * worth explaining. The loss applied must be the loss asked for, TCP must
 * slow down as loss rises, and UDP must deliver its rate less the loss.
 *
 * @module
 */

import { failedRuns } from "../loss/report.ts";
import { sendingSeconds } from "../loss/iperf.ts";
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
    const judged = result.levels.map((level) => ({ level, expected: expectedDelivery(level, udpRate) }));
    const unsound = judged.find(({ expected }) =>
      expected.onPathPercent > MAX_ON_PATH_PERCENT || expected.stretch > MAX_RECEIVER_STRETCH
    );
    if (unsound) {
      const { level, expected } = unsound;
      throw new StageSkipped(
        `${
          expected.onPathPercent > MAX_ON_PATH_PERCENT
            ? `${expected.onPathPercent.toFixed(1)}% of the datagrams were still on the path as the run ended`
            : `the receiver counted ${expected.stretch.toFixed(2)} s for each second sent`
        } at ${level.loss}%: the lab measured itself (short of CPU, or iperf3's end of test delayed by the loss), not the path, so this run cannot show which figure was read; measure again (longer --seconds help)`,
      );
    }
    const off = judged.filter(({ level, expected }) =>
      Math.abs(level.udp.goodput.median - expected.bps) > expected.bps * 0.1
    );
    if (off.length > 0) {
      const mbit = (bits: number) => (bits / 1e6).toFixed(2);
      throw new StageFailure(
        `UDP goodput is off the sending rate at ${
          off.map(({ level, expected }) => {
            const lost = level.udp.lossPercent.median;
            const onPath = expected.onPathPercent > 0
              ? ` and the ${expected.onPathPercent.toFixed(1)}% still on the path at the end`
              : "";
            const late = expected.stretch > 1.005
              ? `, over ${expected.stretch.toFixed(2)} s of the receiver's for each second sent`
              : "";
            return `${level.loss}% (${mbit(level.udp.goodput.median)} Mbit/s, expected ${mbit(expected.bps)}: ${
              mbit(expected.sentBps)
            } sent less the ${lost.toFixed(1)}% lost${onPath}${late})`;
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

/**
 * How far the accounting for datagrams still on the path, and for the
 * receiver's clock running on, may go. A path's queue holds a few per cent
 * of a short run as it ends and delays its end by some milliseconds; much
 * more means the lab (the link emulator, the receiver) was short of CPU, or
 * iperf3's end of test waited for a retransmission, and the run measured
 * that, not the path.
 */
const MAX_ON_PATH_PERCENT = 5;
const MAX_RECEIVER_STRETCH = 1.25;

/** What one level's UDP runs should have delivered, and why. */
interface ExpectedDelivery {
  /** The goodput a receiver's figure should show, bits/s. */
  bps: number;
  /** What the sender sent, bits/s. */
  sentBps: number;
  /** Per cent of the datagrams sent that the receiver never knew of (on the path as the test ended). */
  onPathPercent: number;
  /** The receiver's seconds for one of the sender's, where the last datagrams came late. */
  stretch: number;
}

/**
 * What the sender really sent, where iperf3 says it (a sender short of CPU
 * sends less than asked), else the rate asked; less the loss the receiver
 * counted; less, where both sides count their datagrams, those still on the
 * path when the test ended (a queue, or a link emulator short of CPU, holds
 * them), which the receiver counts neither received nor lost; where the
 * goodput is iperf3's receiver rate, spread over the receiver's time, which
 * runs on past the sender's while the path delays the last datagrams or the
 * end of test comes late. Medians over the level's runs.
 */
function expectedDelivery(level: SweepResult["levels"][number], udpRate: number): ExpectedDelivery {
  const runs = level.udp.runs;
  const offered = runs.map((run) => run.offered);
  const sentBps = runs.length > 0 && offered.every((rate) => rate !== undefined)
    ? spread(offered as number[]).median
    : udpRate;
  const counted = runs.length > 0 &&
    runs.every((run) => run.datagrams !== undefined && run.sentDatagrams !== undefined && run.sentDatagrams > 0);
  const known = counted ? spread(runs.map((run) => Math.min(1, run.datagrams! / run.sentDatagrams!))).median : 1;
  // The receiver's seconds for each second the sender spent sending, which
  // a goodput read as iperf3's receiver rate is spread over: its end of test
  // comes late when the control connection's last packets are lost on the
  // lossy path. A goodput measured as the received bytes over the sending
  // time (the sweep's own, where it has both sides' bytes) is not.
  const stretchOf = (run: typeof runs[number]) =>
    run.receivedBytes !== undefined ? 1 : Math.max(1, run.receiverSeconds! / sendingSeconds(run)!);
  const timed = runs.length > 0 && runs.every((run) => sendingSeconds(run)! > 0 && run.receiverSeconds! > 0);
  const stretch = timed ? spread(runs.map(stretchOf)).median : 1;
  return {
    bps: sentBps * known * (1 - level.udp.lossPercent.median / 100) / stretch,
    sentBps,
    onPathPercent: (1 - known) * 100,
    stretch,
  };
}

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

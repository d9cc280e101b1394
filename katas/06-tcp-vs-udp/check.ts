/**
 * Kata 6's checker: the experiment's data must be sound before it is
 * explained — every run finished, the loss applied is the loss asked for,
 * TCP slows down as loss rises, UDP delivers its rate less the loss.
 *
 * @module
 */

import { type ExperimentContext, lossApplied, tcpSlowsDown, udpDelivers } from "../../lib/check/experiment.ts";
import { failedRuns } from "../../lib/loss/report.ts";
import { type Stage, StageFailure } from "../../lib/check/stage.ts";

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

export const stages: readonly Stage<ExperimentContext>[] = [
  everyRunFinished,
  lossApplied,
  tcpSlowsDown,
  udpDelivers,
];

/**
 * Kata 6's checker: the experiment's data must be sound before it is
 * explained — every run finished, the loss applied is the loss asked for,
 * TCP slows down as loss rises, UDP delivers its rate less the loss.
 *
 * @module
 */

import {
  everyRunFinished,
  type ExperimentContext,
  lossApplied,
  tcpSlowsDown,
  udpDelivers,
} from "../../lib/stages/experiment.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage<ExperimentContext>[] = [
  everyRunFinished,
  lossApplied,
  tcpSlowsDown,
  udpDelivers,
];

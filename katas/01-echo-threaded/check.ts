/**
 * Kata 1's checker: the stages a concurrent echo server must pass, in order.
 *
 * @module
 */

import {
  halfClose,
  hundredClients,
  idleClient,
  lateReader,
  nagle,
  oneMebibyte,
  singleByte,
  stillAnswers,
  survivesReset,
} from "../../lib/stages/echo.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage[] = [
  singleByte,
  oneMebibyte,
  lateReader,
  hundredClients,
  idleClient,
  halfClose,
  survivesReset,
  nagle,
  stillAnswers,
];

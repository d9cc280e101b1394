/**
 * Kata 2's checker: everything Kata 1 asks, plus a client that stops reading
 * for 3 s while 20 others must stay prompt, the case an event loop with
 * unbuffered writes gets wrong.
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
  slowReader,
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
  slowReader,
  halfClose,
  survivesReset,
  nagle,
  stillAnswers,
];

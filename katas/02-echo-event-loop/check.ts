/**
 * Kata 2's checker: everything Kata 1 asks, plus a client that stops reading
 * for 3 s while 20 others must stay prompt, the case an event loop with
 * unbuffered writes gets wrong; a client gone quiet must not hold the loop
 * (a blocking read), and an idle server must not spin (EPOLLOUT left on).
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
import { idleCpu, quietClient } from "../../lib/stages/echo_idle.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage[] = [
  singleByte,
  oneMebibyte,
  lateReader,
  hundredClients,
  idleClient,
  quietClient,
  slowReader,
  halfClose,
  survivesReset,
  nagle,
  idleCpu,
  stillAnswers,
];

/**
 * Kata 2's checker: everything Kata 1 asks, with hints in an event loop's
 * terms, plus a client that reads nothing until its echo backs up in the
 * server while 20 others must stay prompt, the case an event loop with
 * unbuffered writes gets wrong; a client
 * gone quiet must not hold the loop (a blocking read), and an idle server
 * must not spin (EPOLLOUT left on). Then, as a stretch stage, what an event
 * loop has and a worker per connection lacks: 10 000 idle connections that
 * cost little memory and no thread.
 *
 * @module
 */

import {
  halfClose,
  hundredClients,
  idleClient,
  inEventLoopTerms,
  lateReader,
  nagle,
  oneMebibyte,
  singleByte,
  slowReader,
  stillAnswers,
  survivesReset,
} from "../../lib/stages/echo.ts";
import { tenThousandIdle } from "../../lib/stages/echo_c10k.ts";
import { idleCpu, quietClient } from "../../lib/stages/echo_idle.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage[] = [
  // What a passing server answers at once.
  singleByte,
  oneMebibyte,
  hundredClients,
  idleClient,
  quietClient,
  halfClose,
  nagle,
  // What takes a wait even when it passes: an echo left to back up, a
  // server given time to crash, an idle window. Last, so that a failure
  // above is shown without waiting for them.
  lateReader,
  slowReader,
  survivesReset,
  idleCpu,
  stillAnswers,
  tenThousandIdle,
].map(inEventLoopTerms);

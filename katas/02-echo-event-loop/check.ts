/**
 * Kata 2's checker: everything Kata 1 asks, with hints in an event loop's
 * terms, plus a client that stops reading for 3 s while 20 others must stay
 * prompt, the case an event loop with unbuffered writes gets wrong. Then,
 * as a stretch stage, what an event loop has and a worker per connection
 * lacks: 10 000 idle connections that cost little memory and no thread.
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
  tenThousandIdle,
].map(inEventLoopTerms);

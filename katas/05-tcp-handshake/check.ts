/**
 * Kata 5's checker: a capture is graded like any other implementation. It
 * must be readable and hold one whole conversation, from SYN to last ACK;
 * data is stretch (the seed's checklist: "first data segment, if any").
 *
 * @module
 */

import { type CaptureContext, close, data, handshake, readable, tsharkAgrees } from "../../lib/stages/capture.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage<CaptureContext>[] = [
  readable,
  handshake,
  data,
  close,
  tsharkAgrees,
];

/**
 * Kata 4's checker: curl -v first, as the card says, then the cases curl
 * never tries: a request split at awkward places, malformed requests, bytes
 * that are not ASCII, a crowd, and clients that reset before the server
 * accepts them. Then the stretch stages, beyond the kata: the finer rules
 * of RFC 9110 and 9112, and 200 clients that never finish their request
 * (slowloris).
 *
 * @module
 */

import {
  curlVerbose,
  halfSentRequests,
  hundredClients,
  malformed,
  notFound,
  okInOneWrite,
  rfcErrors,
  splitInThree,
  splitInTwo,
  survivesResets,
  unusualBytes,
} from "../../lib/stages/http_server.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage[] = [
  curlVerbose,
  okInOneWrite,
  notFound,
  splitInTwo,
  splitInThree,
  malformed,
  unusualBytes,
  hundredClients,
  survivesResets,
  rfcErrors,
  halfSentRequests,
];

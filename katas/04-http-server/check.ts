/**
 * Kata 4's checker: curl -v first, as the card says, then the cases curl
 * never tries: a request split at awkward places, malformed requests, a
 * crowd, 200 clients that never finish their request, and clients that
 * reset before the server accepts them.
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
  splitInThree,
  splitInTwo,
  survivesResets,
} from "../../lib/stages/http_server.ts";
import type { Stage } from "../../lib/check/stage.ts";

export const stages: readonly Stage[] = [
  curlVerbose,
  okInOneWrite,
  notFound,
  splitInTwo,
  splitInThree,
  malformed,
  hundredClients,
  halfSentRequests,
  survivesResets,
];

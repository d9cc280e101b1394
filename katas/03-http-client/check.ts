/**
 * Kata 3's checker: the client runs once per case against the kit's fixture
 * server, from a plain 200 to a body dribbled one byte at a time, reached
 * by name, by IPv4 address and by IPv6 literal.
 *
 * @module
 */

import type { ClientContext } from "../../lib/stages/http_client.ts";
import {
  byAddress,
  chunked,
  dribbled,
  exactLength,
  http10,
  interim100,
  ipv6Literal,
  large,
  missing404,
  moved301,
  noContent204,
  oddCaseHeaders,
  ok200,
  pastContentLength,
  prematureClose,
  refused,
  untilClose,
  wellFormedRequest,
} from "../../lib/stages/http_client.ts";
import type { Stage } from "../../lib/check/stage.ts";
import { FIXTURE_CASES, startHttpFixture } from "../../lib/http/fixture.ts";

export const stages: readonly Stage<ClientContext>[] = [
  ok200,
  wellFormedRequest,
  byAddress,
  ipv6Literal,
  moved301,
  missing404,
  exactLength,
  pastContentLength,
  dribbled,
  oddCaseHeaders,
  http10,
  untilClose,
  noContent204,
  interim100,
  large,
  prematureClose,
  chunked,
  refused,
];

/** The server the client runs against: every case a stage uses, and more to try by hand. */
export const fixture = { start: startHttpFixture, cases: FIXTURE_CASES };

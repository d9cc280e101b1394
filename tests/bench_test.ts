/**
 * The benchmark's machinery works end to end (its figures are not checked
 * here: speed targets live in `deno task bench`, not in tests). The load
 * generator must also notice an echo that comes back wrong.
 */

import assert from "node:assert/strict";
import { runEchoBench } from "../lib/bench/echo.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const ready = !needs.ignore && Deno.build.os === "linux" &&
  await hasProgram("cc");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const suffix = needs.suffix || (ready ? "" : " [ignored: needs Linux and cc]");

Deno.test({
  name: `runEchoBench() measures a real server and verifies every byte${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const [result] = await runEchoBench({
        servers: [{
          name: "kata 1",
          command: `${Deno.execPath()} run --allow-net ${ROOT}katas/01-echo-threaded/reference.ts --port {port}`,
        }],
        scenarios: [{
          name: "rr 64 B × 4",
          mode: "rr",
          size: 64,
          connections: 4,
        }],
        seconds: 0.3,
        buildDirectory: build,
      });
      assert.equal(result.error, undefined);
      assert.ok(result.messagesPerSecond > 0);
      assert.equal(result.mismatches, 0);
      assert.equal(result.starved, 0);
    }),
});

Deno.test({
  name: `runEchoBench() counts echoes that come back different${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const [result] = await runEchoBench({
        servers: [{
          name: "corrupting",
          command: `${Deno.execPath()} run --allow-net ${ROOT}tests/fixtures/broken_echo.ts corrupts {port}`,
        }],
        scenarios: [{
          name: "stream 4 KiB × 2",
          mode: "stream",
          size: 4096,
          connections: 2,
        }],
        seconds: 0.3,
        buildDirectory: build,
      });
      assert.equal(result.error, undefined);
      assert.ok(result.mismatches > 0);
    }),
});

Deno.test("parseWrk() reads rate, latency percentiles, non-2xx and socket errors", async () => {
  const { parseWrk } = await import("../lib/bench/http.ts");
  const report = `Running 5s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.20ms
  92000 requests in 5.00s, 20.00MB read
  Socket errors: connect 0, read 3, write 1, timeout 0
  Non-2xx or 3xx responses: 7
Requests/sec:  18400.12
Transfer/sec:      4.00MB
`;
  assert.deepEqual(parseWrk(report), {
    requestsPerSecond: 18400.12,
    p50Ms: 0.812,
    p99Ms: 3.2,
    non2xx: 7,
    socketErrors: 4,
  });
  assert.throws(() => parseWrk("garbage"), /no Requests\/sec/);
});

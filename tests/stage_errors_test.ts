/**
 * What a dropped connection raises is the server's doing, never the
 * checker's. A server that resets right after the handshake makes
 * `Deno.connect` itself fail: with ConnectionReset, or, when the reset lands
 * before Deno asks the kernel for the peer's address, with NotConnected
 * (ENOTCONN; seen about twice in a thousand connections on loopback).
 */

import assert from "node:assert/strict";
import { runStages, type Stage } from "../lib/check/stage.ts";

/** Every error class Deno raises for a connection the other end dropped. */
const DROPPED: [string, Error][] = [
  ["ConnectionReset", new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)")],
  ["BrokenPipe", new Deno.errors.BrokenPipe("Broken pipe (os error 32)")],
  ["UnexpectedEof", new Deno.errors.UnexpectedEof("early eof")],
  ["NotConnected", new Deno.errors.NotConnected("Transport endpoint is not connected (os error 107)")],
  ["ConnectionAborted", new Deno.errors.ConnectionAborted("Software caused connection abort (os error 103)")],
];

for (const [name, error] of DROPPED) {
  Deno.test(`runStages() blames the server for ${name}, not the checker`, async () => {
    const stage: Stage<null> = { name: "connects", run: () => Promise.reject(error) };
    const [result] = await runStages([stage], () => ({ context: null, release() {} }));
    assert.equal(result.status, "fail");
    assert.doesNotMatch(result.message ?? "", /unexpected error/);
    assert.match(result.message ?? "", /The server reset the connection/);
    assert.match(result.message ?? "", new RegExp(error.message.replace(/[()]/g, "\\$&")));
  });
}

Deno.test("runStages() still owns up to an error that is the checker's", async () => {
  const stage: Stage<null> = { name: "connects", run: () => Promise.reject(new TypeError("x is undefined")) };
  const [result] = await runStages([stage], () => ({ context: null, release() {} }));
  assert.match(result.message ?? "", /The checker hit an unexpected error: x is undefined/);
});

Deno.test("runStages() reports a context that cannot be made (a fixture out of descriptors) as that stage's failure", async () => {
  const stage: Stage<null> = { name: "echoes", run: () => Promise.resolve() };
  const results = await runStages([stage, { ...stage, name: "after" }], () => {
    throw new Error("Too many open files (os error 24)");
  });
  assert.deepEqual(results.map((result) => result.status), ["fail", "skip"]);
  assert.match(results[0].message ?? "", /Too many open files/);
});

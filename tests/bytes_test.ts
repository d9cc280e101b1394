import assert from "node:assert/strict";
import { describeMismatch, firstDifference, formatBytes, quoteBytes, randomBytes } from "../lib/net/bytes.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("firstDifference() finds the first differing byte, or the shorter length", () => {
  assert.equal(firstDifference(bytes("abc"), bytes("abc")), -1);
  assert.equal(firstDifference(bytes("abc"), bytes("abd")), 2);
  assert.equal(firstDifference(bytes("abc"), bytes("ab")), 2);
  assert.equal(firstDifference(bytes(""), bytes("x")), 0);
});

Deno.test("quoteBytes() escapes control characters, backslashes and non-ASCII", () => {
  assert.equal(quoteBytes(bytes("GET / HTTP/1.1\r\n")), "GET / HTTP/1.1\\r\\n");
  assert.equal(
    quoteBytes(new Uint8Array([0, 0x5c, 0xff, 0x09])),
    "\\x00\\\\\\xff\\t",
  );
});

Deno.test("describeMismatch() puts a caret under the first difference", () => {
  assert.equal(describeMismatch(bytes("same"), bytes("same")), undefined);
  const text = describeMismatch(bytes("hello world"), bytes("hello wxrld"))!;
  const lines = text.split("\n");
  assert.equal(
    lines[0],
    "first difference at byte 7 of 11 expected (11 received)",
  );
  assert.equal(lines[1], '  expected: "hello world"');
  assert.equal(lines[2], '  received: "hello wxrld"');
  assert.equal(lines[3].indexOf("^"), lines[2].indexOf("wxrld") + 1);
});

Deno.test("describeMismatch() shows a window around a difference deep in a large payload", () => {
  const expected = new Uint8Array(100_000).fill(0x61);
  const actual = expected.slice(0, 50_000);
  const text = describeMismatch(expected, actual)!;
  assert.match(
    text,
    /^first difference at byte 50000 of 100000 expected \(50000 received\)/,
  );
  assert.match(text, /received: …"a{12}" {2}\(ended here\)/);
});

Deno.test("randomBytes() fills buffers larger than one getRandomValues call", () => {
  const payload = randomBytes(200_000);
  assert.equal(payload.length, 200_000);
  assert.notEqual(payload.subarray(150_000).reduce((a, b) => a + b, 0), 0);
});

Deno.test("formatBytes() prefers whole KiB and MiB", () => {
  assert.equal(formatBytes(16 * 1024 * 1024), "16 MiB");
  assert.equal(formatBytes(65_536), "64 KiB");
  assert.equal(formatBytes(1000), "1000 B");
});

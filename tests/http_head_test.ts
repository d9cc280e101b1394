import assert from "node:assert/strict";
import { findHeadEnd, headerValue, headerValues, MalformedHeadError, parseHead } from "../lib/http/head.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("parseHead() returns undefined until the empty line arrives, then the head", () => {
  const full = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nhi";
  for (let cut = 0; cut < full.length - 2 - 1; cut++) {
    assert.equal(
      parseHead(bytes(full.slice(0, cut))),
      undefined,
      `cut at ${cut}`,
    );
  }
  const head = parseHead(bytes(full))!;
  assert.equal(head.startLine, "HTTP/1.1 200 OK");
  assert.equal(head.size, full.length - 2);
  assert.equal(headerValue(head, "content-length"), "2");
  assert.deepEqual(headerValues(head, "X-A"), ["1", "2"]);
  assert.equal(
    headerValue(head, "x-a"),
    undefined,
    "a repeated header has no single value",
  );
});

Deno.test("parseHead() rejects bare LF, whitespace before the colon, and oversized heads", () => {
  assert.throws(
    () => parseHead(bytes("HTTP/1.1 200 OK\nA: b\n\n")),
    /LF without CR/,
  );
  assert.throws(
    () => parseHead(bytes("GET / HTTP/1.1\r\nHost : x\r\n\r\n")),
    /whitespace before its colon/,
  );
  assert.throws(
    () => parseHead(bytes("GET / HTTP/1.1\r\nno colon\r\n\r\n")),
    MalformedHeadError,
  );
  assert.throws(
    () => parseHead(new Uint8Array(70_000).fill(0x61)),
    /longer than 65536 bytes/,
  );
});

Deno.test("findHeadEnd() finds the index past CRLFCRLF", () => {
  assert.equal(findHeadEnd(bytes("a\r\n\r\nb")), 5);
  assert.equal(findHeadEnd(bytes("a\n\nb")), -1);
});

import assert from "node:assert/strict";
import { findHeadEnd, headerValue, headerValues, MalformedHeadError, parseHead } from "../lib/http/head.ts";
import { classifyRequestHead } from "../lib/http/request.ts";

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

/** A request head from a string whose characters are octets (latin1). */
const octets = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("classifyRequestHead() is incomplete until the empty line, then judges the first request only", () => {
  const full = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE";
  for (let cut = 0; cut < full.indexOf("\r\n\r\n") + 4 - 1; cut++) {
    assert.equal(classifyRequestHead(octets(full.slice(0, cut))).kind, "incomplete", `cut at ${cut}`);
  }
  const verdict = classifyRequestHead(octets(full));
  assert.equal(verdict.kind, "acceptable");
  assert.equal(verdict.kind === "acceptable" && verdict.method, "GET");
});

Deno.test("classifyRequestHead() calls invalid only what RFC 9112 lets no server accept", () => {
  const invalid: [string, string][] = [
    ["GET /\r\n\r\n", "request line"],
    ["GET / \r\n\r\n", "request line"],
    ["GET nope HTTP/1.1\r\nHost: a\r\n\r\n", "target"],
    ["GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "request line"],
    ["GET / HTTP/1.10\r\nHost: a\r\n\r\n", "version"],
    ["G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "method"],
    ["GET / HTTP/1.1\r\nHost : a\r\n\r\n", "whitespace"],
    ["GET / HTTP/1.1\r\nHost: a\r\nX-Invalid[]: b\r\n\r\n", "field name"],
    ["GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", "colon"],
    ["GET / HTTP/1.1\r\n\r\n", "Host"],
    ["GET / HTTP/1.3\r\n\r\n", "Host"],
    ["GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", "Host"],
    ["GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", "Host"],
    ["GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", "Host"],
    ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", "Content-Length"],
    ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Content-Length"],
    ["GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "Transfer-Encoding"],
  ];
  for (const [head, reason] of invalid) {
    const verdict = classifyRequestHead(octets(head));
    assert.equal(verdict.kind, "invalid", JSON.stringify(head));
    assert.match(verdict.kind === "invalid" ? verdict.reason : "", new RegExp(reason, "i"), JSON.stringify(head));
  }
});

Deno.test("classifyRequestHead() accepts what a lenient server may accept: bare LF, bare CR, obs-fold, NUL in values", () => {
  const acceptable = [
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
    "GET / HTTP/1.1\r\n Leading: whitespace\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: \x00\x07\x7f\xff\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET\t/ HTTP/1.1 \r\nHost: a\r\n\r\n",
    "GET http://a/?q=%20 HTTP/1.1\r\nHost: b\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
  ];
  for (const head of acceptable) {
    const verdict = classifyRequestHead(octets(head));
    assert.equal(
      verdict.kind,
      "acceptable",
      `${JSON.stringify(head)}: ${verdict.kind === "invalid" && verdict.reason}`,
    );
  }
});

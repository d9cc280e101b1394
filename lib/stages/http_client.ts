/**
 * Stages for HTTP client katas (Kata 3): the client is run once per case
 * against the fixture server and must print exactly the status line and
 * the body, send a proper request, and fail clearly when the server does.
 *
 * @module
 */

import { describeMismatch, formatBytes, quoteBytes } from "../net/bytes.ts";
import { freePort } from "../net/ports.ts";
import { headerValues, MalformedHeadError, parseHead } from "../http/head.ts";
import {
  CLIENT_TIMEOUT_MS,
  type ClientResult,
  type ClientUnderTest,
  MAX_CLIENT_OUTPUT_BYTES,
} from "../check/client.ts";
import type { HttpFixture } from "../http/fixture.ts";
import { type Stage, StageFailure, StageSkipped } from "../check/stage.ts";

/** What a client stage works with. */
export interface ClientContext {
  client: ClientUnderTest;
  fixture: HttpFixture;
}

const url = (ctx: ClientContext, path: string) => `http://localhost:${ctx.fixture.port}${path}`;

/** What one run of the client on a case did, and whether its request for the case reached the fixture. */
interface CaseResult extends ClientResult {
  requested: boolean;
  timeoutMs: number;
}

/** Runs the client on one fixture case. */
async function fetchCase(
  ctx: ClientContext,
  path: string,
  timeoutMs = CLIENT_TIMEOUT_MS,
): Promise<CaseResult> {
  const before = ctx.fixture.requests.length;
  const result = await ctx.client.run(url(ctx, path), ctx.fixture.port, timeoutMs);
  const requested = ctx.fixture.requests.slice(before).some((request) => request.target === path);
  return { ...result, requested, timeoutMs };
}

function tail(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-6).map((line) => `    | ${line}`).join("\n");
}

/** The client's stdout must be the status line, a newline, then the body exactly. */
function expectPrinted(
  ctx: ClientContext,
  path: string,
  result: ClientResult & Partial<CaseResult>,
  hint: string,
  where = url(ctx, path),
): void {
  if (result.timedOut && result.requested === false) {
    // A hang before any request: the read loop is not (yet) the problem.
    throw new StageFailure(
      `The client was still running after ${result.timeoutMs! / 1000} s and had sent no request for ${path} (${where})`,
      { hint: "Connect to the URL's host and port, send the whole request, then read the response." },
    );
  }
  if (result.timedOut) {
    throw new StageFailure(
      `The client was still running after the response was complete (${where})`,
      {
        details: result.stdout.length ? `it had printed: "${quoteBytes(result.stdout.subarray(0, 200))}"` : undefined,
        hint,
      },
    );
  }
  if (result.code !== 0) {
    throw new StageFailure(
      `The client exited with status ${result.code} on ${where}`,
      {
        details: result.stderr.trim() ? `its stderr:\n${tail(result.stderr)}` : undefined,
        hint: "A response was there to read: exit 0 whatever the status code (a 404 is a correct answer).",
      },
    );
  }
  if (result.stdoutTruncated) {
    throw new StageFailure(
      `The client printed more than ${formatBytes(MAX_CLIENT_OUTPUT_BYTES)} on ${where}: far more than the server sent`,
      { details: `it began with: "${quoteBytes(result.stdout.subarray(0, 200))}"`, hint },
    );
  }
  const expected = ctx.fixture.expected(path)!;
  // Accept CRLF after the status line as well as LF.
  let printed = result.stdout;
  const firstLf = printed.indexOf(10);
  if (firstLf > 0 && printed[firstLf - 1] === 13) {
    printed = new Uint8Array([
      ...printed.subarray(0, firstLf - 1),
      ...printed.subarray(firstLf),
    ]);
  }
  const mismatch = describeMismatch(expected, printed);
  if (mismatch) {
    throw new StageFailure(
      `The output is not the status line and body the server sent (${where})`,
      {
        details: mismatch,
        hint,
      },
    );
  }
}

/** The client must fail: non-zero exit, no hang, and one readable sentence. */
function expectClearFailure(
  what: string,
  result: ClientResult,
  pattern?: RegExp,
): string {
  if (result.timedOut) {
    throw new StageFailure(`The client hung (over 10 s) ${what}`);
  }
  if (result.code === 0) {
    throw new StageFailure(`The client exited 0 ${what}`, {
      hint: "Exit with a non-zero status when the response is unusable, so scripts can tell.",
    });
  }
  const message = result.stderr.trim();
  if (message === "") {
    throw new StageFailure(
      `The client exited ${result.code} ${what}, without a word on stderr`,
      {
        hint: "Say what went wrong in one sentence on stderr.",
      },
    );
  }
  if (/^\s+at .+/m.test(message) || /Uncaught/.test(message)) {
    throw new StageFailure(`The client crashed ${what}`, {
      details: tail(message),
      hint: "Catch the error and print one sentence instead of a stack trace.",
    });
  }
  if (pattern && !pattern.test(message)) {
    throw new StageFailure(`The client's message ${what} does not say why`, {
      details: tail(message),
    });
  }
  return `exit ${result.code}: ${message.split("\n").at(-1)}`;
}

const HINT_READ_LOOP =
  "A read returns whatever has arrived: loop until the head's empty line (CRLFCRLF), then until Content-Length bytes of body.";

/** The request itself: request line, CRLF endings, Host, Connection: close. */
export const wellFormedRequest: Stage<ClientContext> = {
  name: "sends GET /path HTTP/1.1 with Host and Connection: close, CRLF line endings",
  timeoutMs: 15_000,
  async run(ctx) {
    const before = ctx.fixture.requests.length;
    await fetchCase(ctx, "/ok");
    const request = ctx.fixture.requests.slice(before).find((r) => r.target === "/ok");
    if (!request) {
      throw new StageFailure(`No request for /ok reached the server`, {
        hint: "Connect to the resolved address and port, and send the request line with the URL's path.",
      });
    }
    let head;
    try {
      head = parseHead(request.raw);
    } catch (error) {
      if (!(error instanceof MalformedHeadError)) throw error;
      throw new StageFailure(`The request is malformed: ${error.message}`, {
        details: `received: "${quoteBytes(request.raw)}"`,
        hint: "Every line ends in \\r\\n, and an empty line (\\r\\n) ends the head.",
      });
    }
    const shown = { details: `received: "${quoteBytes(request.raw)}"` };
    if (!head) {
      throw new StageFailure(
        "The request head never ended with an empty line (\\r\\n\\r\\n)",
        shown,
      );
    }
    if (head.startLine !== "GET /ok HTTP/1.1") {
      throw new StageFailure(
        `The request line is "${head.startLine}", not "GET /ok HTTP/1.1"`,
        shown,
      );
    }
    const hosts = headerValues(head, "host");
    const port = ctx.fixture.port;
    if (
      hosts.length !== 1 ||
      !(hosts[0] === `localhost:${port}` || hosts[0] === `127.0.0.1:${port}`)
    ) {
      throw new StageFailure(
        hosts.length === 0
          ? "The request has no Host header"
          : `Host is ${JSON.stringify(hosts)}, not "localhost:${port}"`,
        {
          ...shown,
          hint: "HTTP/1.1 requires exactly one Host header: the URL's host and port (RFC 9112 §3.2).",
        },
      );
    }
    if (
      !headerValues(head, "connection").some((value) => /(^|,)\s*close\s*(,|$)/i.test(value))
    ) {
      throw new StageFailure("The request does not say Connection: close", {
        ...shown,
        hint: "Without it an HTTP/1.1 server may keep the connection open after the response.",
      });
    }
  },
};

/** How long a client may take on a case whose response is complete at once, but the connection stays open. */
const OPEN_CONNECTION_PATIENCE_MS = 3_000;

/** A case the client must print exactly. `patienceMs` bounds how long it may run. */
function printsCase(
  name: string,
  path: string,
  hint: string,
  patienceMs?: number,
): Stage<ClientContext> {
  return {
    name,
    timeoutMs: 15_000,
    async run(ctx) {
      expectPrinted(ctx, path, await fetchCase(ctx, path, patienceMs), hint);
    },
  };
}

export const ok200 = printsCase(
  "200: prints the status line and the body",
  "/ok",
  HINT_READ_LOOP,
);

export const moved301: Stage<ClientContext> = {
  name: "301: prints the response and its Location, and does not follow it",
  timeoutMs: 15_000,
  async run(ctx) {
    const before = ctx.fixture.requests.length;
    const result = await fetchCase(ctx, "/moved");
    expectPrinted(ctx, "/moved", result, HINT_READ_LOOP);
    const location = `http://localhost:${ctx.fixture.port}/elsewhere`;
    if (
      !new TextDecoder().decode(result.stdout).includes(location) &&
      !result.stderr.includes(location)
    ) {
      throw new StageFailure(`The Location (${location}) is printed nowhere`, {
        hint: "Print the Location header of a 301 (stderr is fine), so the user knows where it points.",
      });
    }
    if (
      ctx.fixture.requests.slice(before).some((r) => r.target === "/elsewhere")
    ) {
      throw new StageFailure("The client followed the redirect", {
        hint: "This kata prints a 301; it does not follow it.",
      });
    }
  },
};

export const missing404 = printsCase(
  "404: prints the status line and the body",
  "/missing",
  HINT_READ_LOOP,
);

export const exactLength = printsCase(
  "reads exactly Content-Length bytes, even when the server keeps the connection open",
  "/keep-open",
  "Stop after Content-Length bytes of body. Waiting for the server to close works only when it does close.",
  OPEN_CONNECTION_PATIENCE_MS,
);

export const pastContentLength = printsCase(
  "stops at Content-Length even when more bytes follow on the open connection",
  "/extra-after-body",
  "The body is exactly Content-Length bytes: print that many and stop, even when one read brought more (the server sent more on a connection it keeps open; those bytes are not this body).",
  OPEN_CONNECTION_PATIENCE_MS,
);

export const interim100 = printsCase(
  "skips an interim 100 Continue and prints the final response",
  "/continue",
  "A 1xx response is interim: read the next status line and headers.",
);

export const dribbled = printsCase(
  "a response that arrives one byte at a time",
  "/dribble",
  HINT_READ_LOOP,
);

export const oddCaseHeaders = printsCase(
  "header names in odd case (cOnTeNt-LeNgTh)",
  "/odd-case",
  "Header names are case-insensitive: compare them lower-cased.",
);

export const http10 = printsCase(
  "an HTTP/1.0 response",
  "/http10",
  "Accept HTTP/1.0 as well as HTTP/1.1 status lines.",
);

export const noContent204 = printsCase(
  "204 No Content: no body, and no waiting for one",
  "/no-content",
  "204 and 304 responses have no body whatever their headers say (RFC 9112 §6.3); the server may keep the connection open.",
  OPEN_CONNECTION_PATIENCE_MS,
);

export const untilClose = printsCase(
  "no Content-Length: the body ends when the server closes",
  "/until-close",
  "Without Content-Length (and without chunking) the body is everything until the server closes.",
);

export const large = printsCase(
  `a ${formatBytes(5 * 1024 * 1024)} body, byte-exact`,
  "/large",
  "Write out every chunk as it arrives (or all of them at the end): none may be lost or repeated.",
);

export const prematureClose: Stage<ClientContext> = {
  name: "a body cut short of Content-Length: a clear error, not success",
  timeoutMs: 15_000,
  async run(ctx) {
    return expectClearFailure(
      "when the server closed before Content-Length bytes",
      await fetchCase(ctx, "/premature"),
    );
  },
};

export const chunked: Stage<ClientContext> = {
  name: "a chunked body: says chunked is out of scope, exits non-zero",
  timeoutMs: 15_000,
  async run(ctx) {
    return expectClearFailure(
      "on a chunked body",
      await fetchCase(ctx, "/chunked"),
      /chunked/i,
    );
  },
};

export const refused: Stage<ClientContext> = {
  name: "connection refused: one clear sentence and a non-zero exit",
  timeoutMs: 15_000,
  async run(ctx) {
    const port = freePort();
    const result = await ctx.client.run(`http://localhost:${port}/`, port);
    return expectClearFailure("when nothing listens", result);
  },
};

/** Runs the client on `target` and checks where its request for `path` arrived, and with which Host. */
async function expectReachedAt(
  ctx: ClientContext,
  target: string,
  path: string,
  address: { local: string; host: string },
): Promise<void> {
  const before = ctx.fixture.requests.length;
  const result = await ctx.client.run(target, ctx.fixture.port);
  const request = ctx.fixture.requests.slice(before).find((r) => r.target === path);
  if (request) {
    const head = parseHead(request.raw);
    const hosts = head ? headerValues(head, "host") : [];
    const shown = { details: `received: "${quoteBytes(request.raw)}"` };
    if (hosts.length !== 1 || hosts[0] !== address.host) {
      throw new StageFailure(`Host is ${JSON.stringify(hosts)}, not "${address.host}" (${target})`, {
        ...shown,
        hint: HINT_URL_HOST,
      });
    }
    if (request.local !== address.local) {
      throw new StageFailure(`The request for ${target} arrived at ${request.local}, not at ${address.local}`, {
        ...shown,
        hint: HINT_URL_HOST,
      });
    }
  }
  expectPrinted(ctx, path, result, HINT_URL_HOST, target);
}

const HINT_URL_HOST =
  "Connect to the URL's host, whatever it is: a name to resolve (getaddrinfo), an IPv4 address, or an IPv6 address in brackets (http://[::1]:8080/: the brackets are URL syntax, the address is ::1). Send it back as Host, port included: Host: [::1]:8080.";

/** A URL with an IPv4 address: the client connects there and names it in Host. */
export const byAddress: Stage<ClientContext> = {
  name: "a URL with an IPv4 address (http://127.0.0.1:PORT/): connects there and sends Host: 127.0.0.1:PORT",
  timeoutMs: 15_000,
  async run(ctx) {
    const { port } = ctx.fixture;
    await expectReachedAt(ctx, `http://127.0.0.1:${port}/by-address`, "/by-address", {
      local: "127.0.0.1",
      host: `127.0.0.1:${port}`,
    });
  },
};

/** A URL with an IPv6 literal: brackets in the URL and in Host, none in the address. */
export const ipv6Literal: Stage<ClientContext> = {
  name: "an IPv6 literal (http://[::1]:PORT/): connects to ::1 and sends Host: [::1]:PORT",
  timeoutMs: 15_000,
  async run(ctx) {
    const { port } = ctx.fixture;
    if (!ctx.fixture.ipv6) throw new StageSkipped(`the fixture cannot listen on [::1]:${port} here (no IPv6?)`);
    await expectReachedAt(ctx, `http://[::1]:${port}/ipv6`, "/ipv6", { local: "::1", host: `[::1]:${port}` });
  },
};

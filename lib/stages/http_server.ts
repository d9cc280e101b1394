/**
 * Stages for HTTP server katas (Kata 4): real requests over real sockets,
 * sent whole, split at awkward places with real pauses, malformed, and in
 * crowds; responses judged strictly (status line, CRLF, Content-Length equal
 * to the body, connection closed).
 *
 * @module
 */

import { quoteBytes } from "../net/bytes.ts";
import { writeAll } from "../net/io.ts";
import { canReset, connectAndReset } from "../net/reset.ts";
import { headerValue, headerValues, MalformedHeadError, parseHead } from "../http/head.ts";
import { runTool, shellQuote, ToolError } from "../tools/runner.ts";
import { type Stage, type StageContext, StageFailure, StageSkipped, withDeadline } from "../check/stage.ts";

const encoder = new TextEncoder();
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How the server's side of an exchange ended. */
type Ending = "closed" | "reset" | "open";

interface Exchange {
  bytes: Uint8Array;
  ending: Ending;
  /** How many pieces had been sent when the first byte of the answer arrived. */
  piecesBeforeAnswer: number;
  piecesTotal: number;
}

/** The pause between pieces of a split request: long enough that they arrive as separate reads. */
const SPLIT_GAP_MS = 60;
/** How long a server has to answer a complete request and close. */
const ANSWER_DEADLINE_MS = 5_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Sends `pieces` with a pause between them while reading, then reads until
 * the server closes, resets, or goes quiet past the deadline. Reading from
 * the start shows a server that answers before the request is complete.
 */
async function exchange(
  ctx: StageContext,
  pieces: (string | Uint8Array)[],
  gapMs = SPLIT_GAP_MS,
): Promise<Exchange> {
  const conn = await ctx.connect();
  let sent = 0;
  let piecesBeforeAnswer = -1;
  const chunks: number[] = [];
  const buffer = new Uint8Array(16 * 1024);
  const reading = (async (): Promise<Ending> => {
    try {
      while (chunks.length < MAX_RESPONSE_BYTES) {
        const n = await conn.read(buffer);
        if (n === null) return "closed";
        if (piecesBeforeAnswer === -1) piecesBeforeAnswer = sent;
        chunks.push(...buffer.subarray(0, n));
      }
      return "open";
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return "reset";
      throw error;
    }
  })();
  reading.catch(() => {});
  try {
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) await delay(gapMs);
      await writeAll(conn, typeof piece === "string" ? encoder.encode(piece) : piece);
      sent++;
    }
  } catch (error) {
    // The server hung up before the request was complete; what it said
    // before that (if anything) is the evidence.
    if (
      !(error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.ConnectionReset)
    ) throw error;
  }
  const ending = await withDeadline(
    reading,
    ANSWER_DEADLINE_MS,
    () => new StageFailure("timeout"),
  )
    .catch((error) => {
      if (error instanceof StageFailure) return "open" as const;
      throw error;
    });
  return {
    bytes: new Uint8Array(chunks),
    ending,
    piecesBeforeAnswer: piecesBeforeAnswer === -1 ? sent : piecesBeforeAnswer,
    piecesTotal: pieces.length,
  };
}

/** A response that passed the strict reading. */
interface Response {
  status: number;
  statusLine: string;
  headers: [string, string][];
  body: Uint8Array;
}

function shown(bytes: Uint8Array): string {
  const limit = 600;
  return `received: "${quoteBytes(bytes.subarray(0, limit))}"${bytes.length > limit ? "…" : ""}`;
}

/**
 * Reads `exchange` as a strict client would, and throws a StageFailure
 * naming the first rule the response breaks.
 */
function strictResponse(
  what: string,
  result: Exchange,
  method = "GET",
): Response {
  const { bytes, ending } = result;
  if (bytes.length === 0) {
    if (ending === "reset") {
      throw new StageFailure(
        `The server reset the connection without answering ${what}`,
        {
          hint: "Answer every request (a 4xx for bad ones) before closing; a crash or unread input causes a reset.",
        },
      );
    }
    throw new StageFailure(
      ending === "closed"
        ? `The server closed the connection without answering ${what}`
        : `No answer within ${ANSWER_DEADLINE_MS / 1000} s to ${what}`,
      { hint: HINT_READ_UNTIL_BLANK },
    );
  }
  let head;
  try {
    head = parseHead(bytes);
  } catch (error) {
    if (!(error instanceof MalformedHeadError)) throw error;
    throw new StageFailure(
      `The response to ${what} is malformed: ${error.message}`,
      {
        details: shown(bytes),
        hint: "Every line of the status line and headers ends in \\r\\n, and an empty line (\\r\\n) ends them.",
      },
    );
  }
  if (!head) {
    throw new StageFailure(
      `The response to ${what} has no empty line (\\r\\n\\r\\n) after its headers`,
      {
        details: shown(bytes),
        hint: "End the headers with an empty line: \\r\\n\\r\\n.",
      },
    );
  }
  const match = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(head.startLine);
  if (!match) {
    throw new StageFailure(
      `The status line "${head.startLine}" is not "HTTP/1.1 <code> <reason>"`,
      {
        details: shown(bytes),
      },
    );
  }
  const body = bytes.subarray(head.size);
  const lengths = headerValues(head, "content-length");
  if (lengths.length !== 1 || !/^\d+$/.test(lengths[0])) {
    throw new StageFailure(
      lengths.length === 0
        ? `The response to ${what} has no Content-Length`
        : `Content-Length is ${JSON.stringify(lengths)}`,
      { details: shown(bytes), hint: HINT_CONTENT_LENGTH },
    );
  }
  const declared = Number(lengths[0]);
  const expectedBody = method === "HEAD" ? 0 : declared;
  if (body.length !== expectedBody) {
    throw new StageFailure(
      `Content-Length says ${declared} but ${body.length} bytes of body came${
        method === "HEAD" ? " (a HEAD response has none)" : ""
      }`,
      { details: shown(bytes), hint: HINT_CONTENT_LENGTH },
    );
  }
  if (!headerValue(head, "content-type")) {
    throw new StageFailure(`The response to ${what} has no Content-Type`, {
      details: shown(bytes),
      hint: "Say what the body is: Content-Type: text/html (or text/plain).",
    });
  }
  if (
    !headerValues(head, "connection").some((value) => /(^|,)\s*close\s*(,|$)/i.test(value))
  ) {
    throw new StageFailure(
      `The response to ${what} does not say Connection: close`,
      { details: shown(bytes) },
    );
  }
  if (ending === "open") {
    throw new StageFailure(
      `The server answered ${what} but left the connection open`,
      {
        hint: "After a response with Connection: close, close the connection: the client waits for it.",
      },
    );
  }
  return {
    status: Number(match[1]),
    statusLine: head.startLine,
    headers: head.headers,
    body,
  };
}

const HINT_READ_UNTIL_BLANK =
  "A request can arrive in several reads, split anywhere. Keep reading and appending until the buffer holds \\r\\n\\r\\n; only then parse.";
const HINT_CONTENT_LENGTH =
  "Content-Length is the body's length in bytes (encode first, then count), and the body is exactly that long.";

const request = (path: string, method = "GET") =>
  `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: netkata-check\r\nAccept: */*\r\n\r\n`;

function expectStatus(response: Response, status: number, what: string): void {
  if (response.status !== status) {
    throw new StageFailure(
      `${what} got "${response.statusLine}", not ${status}`,
      {
        hint: status === 200 ? "GET / answers 200 OK." : "Any path other than / answers 404 Not Found.",
      },
    );
  }
}

/** `curl -v` against the server, as the seed asks; skipped where curl is missing. */
export const curlVerbose: Stage = {
  name: "curl -v gets 200 from GET /",
  timeoutMs: 15_000,
  async run(ctx) {
    const url = `http://${ctx.hostname}:${ctx.port}/`;
    const args = ["-v", "-sS", "--max-time", "5", "-o", "-", url];
    const command = `$ ${shellQuote(["curl", ...args])}`;
    let verbose: string;
    try {
      // Through the kit's tool runner, like every external tool.
      verbose = (await runTool("curl", args, { timeoutMs: 10_000 })).stderr;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        throw new StageSkipped(`not permitted to run curl here; try it yourself: ${command}`);
      }
      if (!(error instanceof ToolError)) throw error;
      if (error.kind === "failed" || error.kind === "timeout") throw new StageFailure(error.message);
      throw new StageSkipped(`${error.message}; try it yourself: ${command}`);
    }
    const status = /^< (HTTP\/1\.[01] \d{3}.*)$/m.exec(verbose)?.[1]?.trim();
    if (!status?.includes(" 200")) {
      throw new StageFailure(`${command} got "${status ?? "no status line"}"`, { hint: "GET / answers 200 OK." });
    }
    return `${command} → ${status}`;
  },
};

/** GET / in one write: 200, strictly framed, connection closed. */
export const okInOneWrite: Stage = {
  name: "GET / sent in one write: 200 with a strictly well-formed response, then close",
  timeoutMs: 10_000,
  async run(ctx) {
    const response = strictResponse(
      "GET /",
      await exchange(ctx, [request("/")]),
    );
    expectStatus(response, 200, "GET /");
  },
};

/** Another path: 404, strictly framed. */
export const notFound: Stage = {
  name: "GET /nope: 404 with a strictly well-formed response",
  timeoutMs: 10_000,
  async run(ctx) {
    const response = strictResponse(
      "GET /nope",
      await exchange(ctx, [request("/nope")]),
    );
    expectStatus(response, 404, "GET /nope");
  },
};

function splitStage(name: string, cuts: (text: string) => number[]): Stage {
  return {
    name,
    timeoutMs: 10_000,
    timeoutHint: HINT_READ_UNTIL_BLANK,
    async run(ctx) {
      const text = request("/");
      const at = cuts(text);
      const pieces = [0, ...at].map((start, i) => text.slice(start, at[i] ?? text.length));
      const described = pieces.map((piece) => `"${quoteBytes(encoder.encode(piece))}"`).join(" + ");
      const result = await exchange(ctx, pieces);
      if (result.piecesBeforeAnswer < result.piecesTotal) {
        throw new StageFailure(
          `The server answered (or hung up) after ${result.piecesBeforeAnswer} of ${result.piecesTotal} pieces, before the request was complete`,
          {
            details: `sent: ${described} (${SPLIT_GAP_MS} ms apart)\n${shown(result.bytes)}`,
            hint: HINT_READ_UNTIL_BLANK,
          },
        );
      }
      let response;
      try {
        response = strictResponse(
          `GET / sent as ${pieces.length} pieces`,
          result,
        );
      } catch (error) {
        if (!(error instanceof StageFailure)) throw error;
        throw new StageFailure(error.message, {
          details: [
            `sent: ${described} (${SPLIT_GAP_MS} ms apart)`,
            error.details,
          ].filter(Boolean).join("\n"),
          hint: HINT_READ_UNTIL_BLANK,
        });
      }
      expectStatus(response, 200, `GET / in ${pieces.length} pieces`);
    },
  };
}

/** Split inside the request line. */
export const splitInTwo = splitStage(
  "GET / split in 2 writes, inside the request line",
  (text) => [text.indexOf("HTTP/") + 3],
);

/** Split inside a header and inside the final CRLFCRLF. */
export const splitInThree = splitStage(
  "GET / split in 3 writes, inside a header and inside the final CRLFCRLF",
  (text) => [text.indexOf("Host: local") + 7, text.length - 2],
);

/** What Kata 4's card calls malformed: each case, what is sent, and what to look at when it fails. */
const MALFORMED: { what: string; text: string; hint?: string }[] = [
  { what: "a request line that is not HTTP", text: "HELLO\r\n\r\n" },
  {
    what: "lines that end in a bare LF",
    text: "GET / HTTP/1.1\nHost: localhost\n\n",
    hint:
      "Lines that end in \\n alone never add up to \\r\\n\\r\\n: answer 400 as soon as a \\n arrives without a \\r before it, instead of waiting for more.",
  },
  {
    what: "a header line without a colon",
    text: "GET / HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n",
  },
  {
    what: "an invalid Content-Length",
    text: "GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n",
  },
];

const HINT_MALFORMED =
  "Validate the request line and each header line; answer 400 Bad Request when they break the rules.";

/** Malformed requests get a 4xx, not a hang, a reset or a crash. */
export const malformed: Stage = {
  name: "malformed requests get a 4xx answer, not a hang, a reset or a 200",
  timeoutMs: 45_000,
  async run(ctx) {
    for (const { what, text, hint } of MALFORMED) {
      const sent = `sent: "${quoteBytes(encoder.encode(text))}"`;
      let response;
      try {
        response = strictResponse(what, await exchange(ctx, [text]));
      } catch (error) {
        if (!(error instanceof StageFailure)) throw error;
        throw new StageFailure(error.message, {
          details: [sent, error.details].filter(Boolean).join("\n"),
          hint: hint ?? error.hint ?? HINT_MALFORMED,
        });
      }
      if (response.status < 400 || response.status > 499) {
        throw new StageFailure(
          `${what} got "${response.statusLine}", not a 4xx`,
          { details: sent, hint: hint ?? HINT_MALFORMED },
        );
      }
    }
  },
};

/** 100 clients at once, all answered. */
export const hundredClients: Stage = {
  name: "100 concurrent clients all get 200",
  timeoutMs: 20_000,
  timeoutHint: "Handle each connection in its own task; do not await one client before accepting the next.",
  async run(ctx) {
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const response = strictResponse(
        `client ${i + 1}'s GET /`,
        await exchange(ctx, [request("/")]),
      );
      expectStatus(response, 200, `client ${i + 1}'s GET /`);
    }));
  },
};

/** How promptly a normal client must be served while 200 others dawdle. */
const DAWDLE_DEADLINE_MS = 2_000;

/** 200 half-sent requests (slowloris) must not stop a normal client: stretch, the seed's server may serve one at a time. */
export const halfSentRequests: Stage = {
  name: "200 idle half-sent requests do not stop a normal client being served",
  level: "stretch",
  timeoutMs: 20_000,
  async run(ctx) {
    for (let i = 0; i < 200; i++) {
      const conn = await ctx.connect();
      await writeAll(
        conn,
        encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\n"),
      );
    }
    const started = performance.now();
    const result = await withDeadline(
      exchange(ctx, [request("/")]),
      DAWDLE_DEADLINE_MS,
      () =>
        new StageFailure(
          `A normal client waited over ${DAWDLE_DEADLINE_MS / 1000} s behind 200 half-sent requests`,
          {
            hint:
              "Serve each connection in its own task (or event), so that a client that has not finished its request holds up nobody else.",
          },
        ),
    );
    expectStatus(strictResponse("GET /", result), 200, "GET /");
    return `served in ${(performance.now() - started).toFixed(1)} ms`;
  },
};

/** How many clients connect and reset in {@linkcode survivesResets}. */
const RESET_CLIENTS = 100;

const HINT_ACCEPT_LOOP =
  "`for await (const conn of listener)` throws when a client resets before you accept it (ENOTCONN, ECONNABORTED): call listener.accept() in a loop, catch those errors and go on accepting.";

/**
 * Clients that connect and reset at once make accept() fail in a server
 * that has not yet picked them up; the server must go on accepting.
 */
export const survivesResets: Stage = {
  name: `${RESET_CLIENTS} clients that connect and reset at once, then GET / still gets 200`,
  timeoutMs: 20_000,
  timeoutHint: HINT_ACCEPT_LOOP,
  async run(ctx) {
    if (!canReset()) {
      throw new StageSkipped("a client that resets needs --allow-ffi on Linux");
    }
    const gone = (after: string) =>
      new StageFailure(`${after}, nothing accepts connections any more`, { hint: HINT_ACCEPT_LOOP });
    for (let i = 0; i < RESET_CLIENTS; i++) {
      try {
        await connectAndReset(ctx.hostname, ctx.port);
      } catch {
        // connectAndReset fails only when the connection cannot be made.
        throw gone(`After ${i} clients that reset`);
      }
    }
    let result;
    try {
      result = await exchange(ctx, [request("/")]);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) throw gone(`After ${RESET_CLIENTS} clients that reset`);
      throw error;
    }
    try {
      expectStatus(strictResponse("GET / after the resets", result), 200, "GET /");
    } catch (error) {
      if (!(error instanceof StageFailure)) throw error;
      throw new StageFailure(error.message, { details: error.details, hint: HINT_ACCEPT_LOOP });
    }
  },
};

/** A request given as text whose every character is one byte (latin1), so that any byte can be written. */
function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** A request and what it tests. */
interface RequestCase {
  what: string;
  bytes: Uint8Array;
}

/** Sends `sent` whole and reads the answer strictly; a failure shows the bytes sent and carries `hint`. */
async function answerTo(ctx: StageContext, { what, bytes }: RequestCase, hint: string): Promise<Response> {
  const sent = `sent: "${quoteBytes(bytes)}"`;
  let result;
  try {
    result = await exchange(ctx, [bytes]);
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    throw new StageFailure(`Nothing accepts connections any more: the server went down before ${what}`, {
      details: sent,
      hint,
    });
  }
  try {
    return strictResponse(what, result);
  } catch (error) {
    if (!(error instanceof StageFailure)) throw error;
    throw new StageFailure(error.message, { details: [sent, error.details].filter(Boolean).join("\n"), hint });
  }
}

const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n";

/** Bytes a request may carry and a server must survive: each gets an answer, whatever it is. */
const UNUSUAL_BYTES: RequestCase[] = [
  { what: "UTF-8 in a header value", bytes: encoder.encode(`${GET}User-Agent: café-client/1.0 ☕\r\n\r\n`) },
  { what: "bytes that are not UTF-8 in a header value", bytes: bytesOf(`${GET}User-Agent: \xff\xfe\xc3(\r\n\r\n`) },
  { what: "a NUL in a header value", bytes: bytesOf(`${GET}X-Note: a\0b\r\n\r\n`) },
  { what: "a target that is not ASCII", bytes: encoder.encode("GET /café HTTP/1.1\r\nHost: localhost\r\n\r\n") },
  { what: "a NUL in the target", bytes: bytesOf("GET /\0 HTTP/1.1\r\nHost: localhost\r\n\r\n") },
];

const HINT_UNUSUAL_BYTES =
  "Any byte can arrive, anywhere in a request: decode the head as latin1 (one byte is one character, and decoding never fails) or work on the bytes, and answer 400 for what you reject. A strict UTF-8 decoder throws on bytes that are not UTF-8, a C string ends at the first NUL; and an error in one connection must never take the server down.";

/**
 * Bytes that are not ASCII, and NUL, in header values and in the target:
 * the server must answer each (the usual answer or a 4xx) and go on serving.
 * What exactly to answer is the stretch stage's business ({@linkcode rfcErrors}).
 */
export const unusualBytes: Stage = {
  name: "bytes that are not ASCII, and NUL, get an answer, not a crash; GET / still gets 200 after them",
  timeoutMs: 45_000,
  async run(ctx) {
    for (const request of UNUSUAL_BYTES) {
      const response = await answerTo(ctx, request, HINT_UNUSUAL_BYTES);
      if (response.status >= 500 || response.status < 200 || (response.status >= 300 && response.status < 400)) {
        throw new StageFailure(`${request.what} got "${response.statusLine}", not 200, 404 or a 4xx`, {
          details: `sent: "${quoteBytes(request.bytes)}"`,
          hint: HINT_UNUSUAL_BYTES,
        });
      }
    }
    const after = { what: "GET / after them", bytes: encoder.encode(request("/")) };
    expectStatus(await answerTo(ctx, after, HINT_UNUSUAL_BYTES), 200, "GET / after them");
  },
};

/** What RFC 9110 and 9112 ask of a server beyond the card's malformed list, and the status each asks for. */
const RFC_CASES: (RequestCase & { expect: number[]; hint: string })[] = [
  {
    what: "whitespace before a header's colon",
    bytes: encoder.encode("GET / HTTP/1.1\r\nHost : localhost\r\n\r\n"),
    expect: [400],
    hint:
      "RFC 9112 §5.1: whitespace between a field name and its colon is a 400 (servers that allowed it let requests be smuggled past proxies).",
  },
  {
    what: "an HTTP/1.1 request without Host",
    bytes: encoder.encode("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
    expect: [400],
    hint: "RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header; without one it is a 400.",
  },
  {
    what: "two Host headers",
    bytes: encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\nHost: example.com\r\n\r\n"),
    expect: [400],
    hint: "RFC 9112 §3.2: a request carries exactly one Host header; two are a 400, whatever the version.",
  },
  {
    ...UNUSUAL_BYTES[0],
    expect: [200],
    hint:
      "RFC 9110 §5.5: bytes above 0x7F in a field value (obs-text) are opaque data, not an error: keep them and answer the request. Only NUL, CR, LF and the other control characters make a value invalid.",
  },
  ...UNUSUAL_BYTES.slice(3).map((request) => ({
    ...request,
    expect: [400, 301],
    hint:
      "RFC 9112 §3.2: a request-target holds only the characters a URI may (RFC 3986: ASCII letters, digits, a few marks, %HH escapes); a NUL or a byte above 0x7F makes the request line invalid, and the answer is 400.",
  })),
];

/**
 * Stretch: the finer rules of RFC 9110 and 9112, each with the exact status
 * it asks for. The card lists them apart from the kata's malformed requests.
 */
export const rfcErrors: Stage = {
  name:
    "RFC-grade errors: a 400 for whitespace before a colon, a missing or second Host, a target a URI cannot hold; UTF-8 in a header value is no error",
  level: "stretch",
  timeoutMs: 45_000,
  async run(ctx) {
    for (const { expect, hint, ...request } of RFC_CASES) {
      const response = await answerTo(ctx, request, hint);
      if (!expect.includes(response.status)) {
        throw new StageFailure(`${request.what} got "${response.statusLine}", not ${expect.join(" or ")}`, {
          details: `sent: "${quoteBytes(request.bytes)}"`,
          hint,
        });
      }
    }
  },
};

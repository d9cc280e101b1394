/**
 * A seeded HTTP/1.1 request fuzzer for servers like Kata 4's: well-formed
 * requests mutated (random bytes, bit flips, huge lines, many headers, NUL,
 * CR and LF misused, Content-Length and Transfer-Encoding in conflict,
 * pipelining), delivered whole, split or dribbled, and ended by a
 * half-close, by waiting, by a client that leaves early, or by a client that
 * resets before the server accepts it.
 *
 * Every case must end in one well-formed response or a clean close within
 * its deadline; a head that RFC 9112 forbids (see ../http/request.ts) must
 * not get a 2xx; the server must keep accepting. Case `i` of seed `s` is
 * always the same bytes, so a failure is replayed with the seed alone.
 *
 * @module
 */

import { memory } from "../tools/process_stats.ts";
import { quoteBytes } from "../net/bytes.ts";
import { writeAll } from "../net/io.ts";
import { freePort, waitForListen } from "../net/ports.ts";
import { canReset, connectAndReset } from "../net/reset.ts";
import { headerValues, MalformedHeadError, parseHead } from "../http/head.ts";
import { classifyRequestHead } from "../http/request.ts";
import type { FuzzSummary } from "./summary.ts";
import { caseSeed, SeededRandom } from "./seeded_random.ts";

/** One fuzz case: what to send, how, and how the client ends. */
export interface HttpFuzzCase {
  /** The mutations applied, in order ("none" for an untouched request). */
  mutations: string[];
  bytes: Uint8Array;
  /** "whole": one write; "split": a few pieces; "dribbled": many tiny pieces. */
  delivery: "whole" | "split" | "dribbled";
  /** Where the pieces start (after the first), ascending. */
  cuts: number[];
  /** Pause between pieces, in milliseconds. */
  gapMs: number;
  /**
   * "half-close": send, then shut the write side (the server sees EOF);
   * "keep-open": send a complete head and wait for the answer;
   * "close-early": send, then close without reading (the client's kernel
   * resets when the answer arrives); "reset-before-accept": connect and
   * reset before sending anything.
   */
  ending: "half-close" | "keep-open" | "close-early" | "reset-before-accept";
}

/** Options for {@linkcode fuzzHttp}. */
export interface HttpFuzzOptions {
  /** Where the server listens. @default "127.0.0.1" */
  hostname?: string;
  port: number;
  /** How many cases to send. */
  count: number;
  /** The seed: the same seed sends the same cases. */
  seed: number;
  /** Only this case (its index), for replaying one failure. */
  only?: number;
  /** Cases in flight at once. @default 32 */
  concurrency?: number;
  /** How long the server has to answer or close after the last byte is sent. @default 5000 */
  deadlineMs?: number;
  /** Include clients that reset before the server accepts them (needs --allow-ffi). @default canReset() */
  resets?: boolean;
  /** Called every 1 000 cases with the number done. */
  onProgress?: (done: number) => void;
}

/** The most response bytes read per case: far more than any error page. */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** How many failing cases a summary keeps. */
const MAX_FAILURES = 20;
/** How much of a failing input a summary shows. */
const SHOWN_INPUT_BYTES = 300;

const encoder = new TextEncoder();

/**
 * Sends `count` cases to the server at `hostname:port` and reports what
 * went wrong. Stops at the first crash (a refused connection, or a
 * `GET /` that no longer gets 200 at the end).
 *
 * @example
 * ```ts ignore
 * import { fuzzHttp } from "./http.ts";
 * const summary = await fuzzHttp({ port: 8080, count: 2_000, seed: 42 });
 * console.log(summary.crashes, summary.hangs, summary.violations);
 * ```
 */
export async function fuzzHttp(options: HttpFuzzOptions): Promise<FuzzSummary> {
  const { hostname = "127.0.0.1", port, seed, count } = options;
  const concurrency = options.concurrency ?? 32;
  const deadlineMs = options.deadlineMs ?? 5_000;
  const resets = options.resets ?? canReset();
  const started = performance.now();
  const summary: FuzzSummary = {
    target: "http",
    seed,
    cases: 0,
    crashes: 0,
    hangs: 0,
    violations: 0,
    failures: [],
    elapsedMs: 0,
  };
  const record = (index: number, fuzzCase: HttpFuzzCase | undefined, kind: Problem["kind"], problem: string) => {
    if (kind === "crash") summary.crashes++;
    else if (kind === "hang") summary.hangs++;
    else summary.violations++;
    if (summary.failures.length < MAX_FAILURES) {
      const input = fuzzCase ? describeCase(fuzzCase) : "GET / HTTP/1.1 (the final check)";
      summary.failures.push({ case: index, input, problem });
    }
  };

  const indices = options.only === undefined ? Array.from({ length: count }, (_, i) => i) : [options.only];
  let next = 0;
  let crashed = false;
  const worker = async () => {
    while (!crashed && next < indices.length) {
      const index = indices[next++];
      const fuzzCase = httpFuzzCase(seed, index, { resets });
      const problem = await runCase(hostname, port, fuzzCase, deadlineMs);
      summary.cases++;
      if (summary.cases % 1_000 === 0) options.onProgress?.(summary.cases);
      if (!problem) continue;
      record(index, fuzzCase, problem.kind, problem.text);
      if (problem.kind === "crash") crashed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker));

  if (!crashed) {
    // The server must still serve a plain request after all of that.
    const final = await runCase(hostname, port, plainGet(), deadlineMs, 200);
    if (final) record(-1, undefined, "crash", `After the run, GET / failed: ${final.text}`);
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

/** Options for {@linkcode fuzzHttpProcess}. */
export interface HttpFuzzProcessOptions extends Omit<HttpFuzzOptions, "hostname" | "port"> {
  /** The server's command line; "{port}" is replaced by a free port on 127.0.0.1. */
  argv: string[];
}

/**
 * Starts the server in `argv` as its own process, fuzzes it with
 * {@linkcode fuzzHttp}, and stops it. A process that exits, or writes to
 * stderr (an error it did not expect), counts as a crash. The summary has
 * its resident memory before and after (Linux; read through `cat`, so this
 * needs --allow-run).
 *
 * @example
 * ```ts ignore
 * import { fuzzHttpProcess } from "./http.ts";
 * const argv = [Deno.execPath(), "run", "--allow-net", "reference.ts", "--port", "{port}"];
 * const summary = await fuzzHttpProcess({ argv, count: 50_000, seed: 1 });
 * ```
 */
export async function fuzzHttpProcess(options: HttpFuzzProcessOptions): Promise<FuzzSummary> {
  const port = freePort();
  const argv = options.argv.map((arg) => arg.replaceAll("{port}", String(port)));
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Deno.errors.NotFound(`Cannot run ${argv[0]}: no such program`);
  }
  const stderr = new Response(child.stderr).text();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  let summary: FuzzSummary;
  let died: Deno.CommandStatus | undefined;
  try {
    const listening = await waitForListen("127.0.0.1", port, { exited: child.status, timeoutMs: 15_000 });
    if (listening !== "listening") {
      throw new Error(`The server did not listen on 127.0.0.1:${port} (${listening}): ${argv.join(" ")}`);
    }
    const rssBefore = (await memory(child.pid)).rss;
    summary = await fuzzHttp({ ...options, hostname: "127.0.0.1", port });
    summary.rssBefore = rssBefore;
    summary.rssAfter = (await memory(child.pid)).rss;
    died = exited;
  } finally {
    if (!exited) child.kill("SIGKILL");
    await child.status;
  }
  // A death is already a crash in the summary (its connections were
  // refused); this says how it died. Anything on stderr is an error the
  // server did not expect.
  const logged = (await stderr).trim();
  const input = argv.join(" ");
  if (died) {
    summary.crashes = Math.max(summary.crashes, 1);
    summary.failures.push({ case: -1, input, problem: `The server exited: ${JSON.stringify(died)}` });
  }
  if (logged) {
    summary.crashes++;
    summary.failures.push({ case: -1, input, problem: `The server wrote to stderr: ${logged.slice(0, 1_000)}` });
  }
  return summary;
}

/** What went wrong with one case. */
interface Problem {
  kind: "crash" | "hang" | "violation";
  text: string;
}

async function runCase(
  hostname: string,
  port: number,
  fuzzCase: HttpFuzzCase,
  deadlineMs: number,
  expectStatus?: number,
): Promise<Problem | undefined> {
  if (fuzzCase.ending === "reset-before-accept") {
    try {
      await connectAndReset(hostname, port);
      return undefined;
    } catch {
      return { kind: "crash", text: `Cannot connect to ${hostname}:${port}: the server is gone` };
    }
  }
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port });
  } catch (error) {
    // Reset during connect: the listener closed with us in its queue, or the
    // server reset right after the handshake (NotConnected).
    if (!(error instanceof Deno.errors.ConnectionRefused || isDisconnect(error))) throw error;
    return { kind: "crash", text: `${error.message}: the server is gone` };
  }
  try {
    const reading = readResponse(conn);
    reading.catch(() => {});
    let writeFailed: string | undefined;
    try {
      const starts = [0, ...fuzzCase.cuts];
      for (const [i, start] of starts.entries()) {
        if (i > 0 && fuzzCase.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, fuzzCase.gapMs));
        await writeAll(conn, fuzzCase.bytes.subarray(start, starts[i + 1] ?? fuzzCase.bytes.length));
      }
      if (fuzzCase.ending === "half-close") await conn.closeWrite();
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      writeFailed = error instanceof Error ? error.name : String(error);
    }
    if (fuzzCase.ending === "close-early") return undefined; // only the server's survival is judged
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), deadlineMs));
    const result = await Promise.race([reading, deadline]).finally(() => clearTimeout(timer));
    if (result === "hang") {
      return { kind: "hang", text: `Neither an answer nor a close within ${deadlineMs} ms` };
    }
    if (result.ending === "reset" || writeFailed) {
      return {
        kind: "violation",
        text: `The server reset the connection${writeFailed ? ` while the request was sent (${writeFailed})` : ""}` +
          (result.bytes.length ? " after answering" : " without an answer") + ": a response may be lost",
      };
    }
    return judge(fuzzCase, result.bytes, expectStatus);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

async function readResponse(conn: Deno.TcpConn): Promise<{ bytes: Uint8Array; ending: "closed" | "reset" }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (total < MAX_RESPONSE_BYTES) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return { bytes: join(chunks, total), ending: "reset" };
    throw error;
  }
  return { bytes: join(chunks, total), ending: "closed" };
}

/**
 * A case's answer must be nothing (a clean close) or exactly one response
 * with a valid status line, CRLF lines, a Content-Length its body matches
 * and Connection: close; and not a 2xx when the head is invalid.
 */
function judge(fuzzCase: HttpFuzzCase, bytes: Uint8Array, expectStatus?: number): Problem | undefined {
  if (bytes.length === 0) {
    return expectStatus ? { kind: "violation", text: "The server closed without answering" } : undefined;
  }
  const malformed = (why: string): Problem => ({
    kind: "violation",
    text: `Malformed response: ${why}; received "${quoteBytes(bytes.subarray(0, 200))}"`,
  });
  let head;
  try {
    head = parseHead(bytes);
  } catch (error) {
    if (!(error instanceof MalformedHeadError)) throw error;
    return malformed(error.message);
  }
  if (!head) return malformed("no empty line after the headers");
  const status = /^HTTP\/1\.[01] ([1-5]\d\d) [\t !-~\x80-\xff]*$/.exec(head.startLine);
  if (!status) return malformed(`bad status line "${head.startLine}"`);
  const lengths = headerValues(head, "content-length");
  if (lengths.length !== 1 || !/^\d+$/.test(lengths[0])) {
    return malformed(`Content-Length is ${JSON.stringify(lengths)}`);
  }
  const body = bytes.length - head.size;
  const isHead = /^HEAD[ \t]/.test(new TextDecoder("latin1").decode(fuzzCase.bytes.subarray(0, 5)));
  if (body !== Number(lengths[0]) && !(isHead && body === 0)) {
    return malformed(`Content-Length is ${lengths[0]} but ${body} bytes followed`);
  }
  if (!headerValues(head, "connection").some((value) => /(^|,)\s*close\s*(,|$)/i.test(value))) {
    return malformed("no Connection: close, yet the server closed");
  }
  const code = Number(status[1]);
  if (expectStatus && code !== expectStatus) {
    return { kind: "violation", text: `Expected ${expectStatus}, got "${head.startLine}"` };
  }
  if (code >= 200 && code < 300) {
    const verdict = classifyRequestHead(fuzzCase.bytes);
    if (verdict.kind === "invalid") {
      return { kind: "violation", text: `A 2xx ("${head.startLine}") for a head RFC 9112 forbids: ${verdict.reason}` };
    }
  }
  return undefined;
}

// ── Making cases ─────────────────────────────────────────────────────────

/** Requests a server like Kata 4's meets every day; the mutations start from these. */
const BASES = [
  "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: netkata-fuzz\r\nAccept: */*\r\n\r\n",
  "GET /nope?x=1&y=%20 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
  "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET / HTTP/1.0\r\n\r\n",
  "POST /form HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
  "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
];

/** Bytes that parsers get wrong. */
const AWKWARD_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0x80, 0xff, 0x22, 0x25, 0x40, 0x5b, 0x5d, 0x2c, 0x3b];

/** Field lines that make framing ambiguous. */
const FRAMING_LINES = [
  "Content-Length: 5\r\nTransfer-Encoding: chunked",
  "Transfer-Encoding: chunked\r\nContent-Length: 5",
  "Content-Length: 1\r\nContent-Length: 2",
  "Content-Length: 5, 5",
  "Content-Length: 5, 6",
  "Content-Length: -1",
  "Content-Length: +5",
  "Content-Length: 0x10",
  "Content-Length: 99999999999999999999999",
  "Content-Length: 3000000",
  "Content-Length:",
  "Content-Length: 1 2",
  "Transfer-Encoding: gzip",
  "Transfer-Encoding: chunked, gzip",
  "Transfer-Encoding: gzip, chunked",
  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
  "Transfer-Encoding: xchunked",
  "Transfer-Encoding: CHUNKED",
  "Transfer-Encoding:\tchunked",
  "Transfer-Encoding : chunked",
  " Transfer-Encoding: chunked",
  "Transfer-Encoding:\r\n chunked",
  "Transfer-Encoding: \x00chunked",
];

const HOST_LINES = [
  "Host: a b",
  "Host: user@host",
  "Host: a\x00b",
  "Host: [::1",
  "Host: [::1]:80",
  "Host: a:b",
  "Host: a:80",
  "Host:",
  "Host: a/b",
  "Host : a",
  "Host: %zz",
  "Host: example.com\r\nHost: example.com",
  "Host: a\r\nhost: b",
  "hOsT:\texample.com",
];

type Random = () => number;

/** Case `index` of run `seed`: its own stream of numbers in [0, 1), so it does not depend on the cases before it. */
function caseRandom(seed: number, index: number): Random {
  const numbers = new SeededRandom(caseSeed(seed, index));
  return () => numbers.uint32() / 2 ** 32;
}

const below = (rand: Random, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Random, items: readonly T[]): T => items[below(rand, items.length)];
const latin1 = new TextDecoder("latin1");
const text = (bytes: Uint8Array) => latin1.decode(bytes);

/** A string of octets (latin1) as bytes; a plain loop, far faster than Uint8Array.from with a map. */
function octets(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The end of the head (just past CRLFCRLF), or the input's length when there is none. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  }
  return bytes.length;
}

/** Inserts `lines` (without their CRLF) after the request line. */
function withFieldLines(bytes: Uint8Array, lines: string): Uint8Array {
  const s = text(bytes);
  const eol = s.indexOf("\r\n");
  if (eol === -1) return octets(`${s}\r\n${lines}\r\n\r\n`);
  return octets(`${s.slice(0, eol + 2)}${lines}\r\n${s.slice(eol + 2)}`);
}

const MUTATIONS: Record<string, (bytes: Uint8Array, rand: Random) => Uint8Array> = {
  "bit-flips"(bytes, rand) {
    const out = bytes.slice();
    for (let n = 1 + below(rand, 8); n > 0 && out.length > 0; n--) out[below(rand, out.length)] ^= 1 << below(rand, 8);
    return out;
  },
  "byte-edits"(bytes, rand) {
    let out = bytes;
    for (let n = 1 + below(rand, 4); n > 0; n--) {
      const at = below(rand, Math.max(1, headEnd(out)));
      const byte = Uint8Array.of(pick(rand, AWKWARD_BYTES));
      switch (below(rand, 3)) {
        case 0:
          out = join([out.subarray(0, at), byte, out.subarray(at)]);
          break;
        case 1:
          out = join([out.subarray(0, at), byte, out.subarray(at + 1)]);
          break;
        default:
          out = join([out.subarray(0, at), out.subarray(at + 1)]);
      }
    }
    return out;
  },
  "huge-line"(bytes, rand) {
    const size = pick(rand, [4_000, 8_200, 9_000, 16_384, 65_536, 100_000]);
    const filler = "a".repeat(size);
    const s = text(bytes);
    switch (below(rand, 4)) {
      case 0:
        return octets(s.replace(" /", ` /${filler}`)); // a long target
      case 1:
        return octets(`${filler}${s}`); // a long method
      case 2:
        return octets(s.replace(/HTTP\/1\.\d/, `HTTP/1.1${filler}`));
      default:
        return withFieldLines(bytes, `X-Long: ${filler}`);
    }
  },
  "many-headers"(bytes, rand) {
    const n = pick(rand, [20, 100, 500, 1_000, 3_000]);
    const lines = Array.from({ length: n }, (_, i) => `X-Field-${i}: ${"v".repeat(below(rand, 20))}`).join("\r\n");
    return withFieldLines(bytes, lines);
  },
  "line-endings"(bytes, rand) {
    const s = text(bytes);
    const replacement = pick(rand, ["\n", "\r", "\r\r\n", "\n\r", "\r\n\r\n", ""]);
    if (rand() < 0.5) return octets(s.replaceAll("\r\n", replacement)); // every line
    const ends = [...s.matchAll(/\r\n/g)].map((m) => m.index);
    if (ends.length === 0) return bytes;
    const at = pick(rand, ends);
    return octets(s.slice(0, at) + replacement + s.slice(at + 2));
  },
  "framing"(bytes, rand) {
    return withFieldLines(bytes, pick(rand, FRAMING_LINES));
  },
  "host"(bytes, rand) {
    const s = text(bytes).replace(/\r\nHost:[^\r]*/i, "");
    return rand() < 0.2 ? octets(s) : withFieldLines(octets(s), pick(rand, HOST_LINES));
  },
  "request-line"(bytes, rand) {
    const s = text(bytes);
    const eol = s.indexOf("\r\n");
    const line = pick(rand, [
      "GET / HTTP/2.0",
      "GET / HTTP/1.10",
      "GET / HTTP/0.9",
      "GET / http/1.1",
      "GET / HTTP/1.1 ",
      "GET /",
      "GET  / HTTP/1.1",
      "GET\t/\tHTTP/1.1",
      "get / HTTP/1.1",
      "G:T / HTTP/1.1",
      " GET / HTTP/1.1",
      "GET /a b HTTP/1.1",
      "GET /#frag HTTP/1.1",
      "GET /%zz HTTP/1.1",
      "GET * HTTP/1.1",
      "GET //evil.example/ HTTP/1.1",
      "GET ftp://localhost/ HTTP/1.1",
      "CONNECT localhost:443 HTTP/1.1",
      "GET / HTTP/1.2",
      "",
    ]);
    return octets(line + (eol === -1 ? "\r\n" : s.slice(eol)));
  },
  "whitespace"(bytes, rand) {
    const s = text(bytes);
    switch (below(rand, 4)) {
      case 0:
        return withFieldLines(bytes, "X-Folded: a\r\n b"); // obs-fold
      case 1:
        return octets(s.replace("\r\n", "\r\n X-Before: first\r\n")); // whitespace before the first field
      case 2:
        return octets(s.replace(/\r\n([A-Za-z-]+):/, "\r\n$1 :")); // whitespace before a colon
      default:
        return octets(s.replaceAll("\r\n", " \r\n")); // trailing whitespace
    }
  },
  "pipelined"(bytes, rand) {
    const more = Array.from({ length: 1 + below(rand, 3) }, () => pick(rand, BASES)).join("");
    return octets(text(bytes) + more);
  },
  "truncated"(bytes, rand) {
    return bytes.subarray(0, below(rand, bytes.length + 1));
  },
  "spliced"(bytes, rand) {
    const other = octets(pick(rand, BASES));
    return octets(text(bytes).slice(0, below(rand, bytes.length)) + text(other).slice(below(rand, other.length)));
  },
};

/**
 * Case `index` of the run seeded with `seed`: the same arguments always give
 * the same case. Without `resets`, no case resets before being accepted.
 *
 * @example
 * ```ts
 * import { httpFuzzCase } from "./http.ts";
 * const fuzzCase = httpFuzzCase(42, 7);
 * fuzzCase.mutations; // e.g. ["framing", "line-endings"]
 * ```
 */
export function httpFuzzCase(seed: number, index: number, { resets = true } = {}): HttpFuzzCase {
  const rand = caseRandom(seed, index);
  let bytes: Uint8Array = octets(pick(rand, BASES));
  const mutations: string[] = [];
  const roll = rand();
  if (roll < 0.05) {
    mutations.push("none");
  } else if (roll < 0.12) {
    // Pure noise, sometimes behind a plausible request line.
    mutations.push("random-bytes");
    const noise = new Uint8Array(below(rand, 2_048));
    for (let i = 0; i < noise.length; i++) noise[i] = below(rand, 256);
    bytes = rand() < 0.5 ? noise : octets(`GET / HTTP/1.1\r\n${text(noise)}`);
  } else {
    const names = Object.keys(MUTATIONS);
    for (let n = 1 + below(rand, 3); n > 0; n--) {
      const name = pick(rand, names);
      bytes = MUTATIONS[name](bytes, rand);
      mutations.push(name);
    }
  }

  let delivery: HttpFuzzCase["delivery"] = "whole";
  let cuts: number[] = [];
  let gapMs = 0;
  const deliveryRoll = rand();
  if (bytes.length > 1 && deliveryRoll < 0.15) {
    delivery = "dribbled";
    // Byte by byte through the first part of the head, then the rest.
    const dribble = Math.min(bytes.length - 1, 8 + below(rand, 40));
    cuts = Array.from({ length: dribble }, (_, i) => i + 1);
    gapMs = below(rand, 2);
  } else if (bytes.length > 1 && deliveryRoll < 0.4) {
    delivery = "split";
    cuts = [...new Set(Array.from({ length: 1 + below(rand, 5) }, () => 1 + below(rand, bytes.length - 1)))]
      .sort((a, b) => a - b);
    gapMs = below(rand, 4);
  }

  const endingRoll = rand();
  let ending: HttpFuzzCase["ending"] = "half-close";
  if (resets && endingRoll < 0.04) ending = "reset-before-accept";
  else if (endingRoll < 0.12) ending = "close-early";
  else if (endingRoll < 0.4 && classifyRequestHead(bytes).kind !== "incomplete") ending = "keep-open";
  if (ending === "reset-before-accept") {
    return { mutations, bytes: new Uint8Array(0), delivery: "whole", cuts: [], gapMs: 0, ending };
  }
  return { mutations, bytes, delivery, cuts, gapMs, ending };
}

function plainGet(): HttpFuzzCase {
  return {
    mutations: ["none"],
    bytes: encoder.encode(BASES[0]),
    delivery: "whole",
    cuts: [],
    gapMs: 0,
    ending: "keep-open",
  };
}

function describeCase(fuzzCase: HttpFuzzCase): string {
  const shown = quoteBytes(fuzzCase.bytes.subarray(0, SHOWN_INPUT_BYTES));
  const more = fuzzCase.bytes.length > SHOWN_INPUT_BYTES ? `… (${fuzzCase.bytes.length} bytes)` : "";
  return `[${fuzzCase.mutations.join(", ")}; ${fuzzCase.delivery}; ${fuzzCase.ending}] "${shown}"${more}`;
}

function isDisconnect(error: unknown): error is Error {
  return error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.NotConnected || error instanceof Deno.errors.ConnectionAborted;
}

function join(chunks: Uint8Array[], total = chunks.reduce((sum, chunk) => sum + chunk.length, 0)): Uint8Array {
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

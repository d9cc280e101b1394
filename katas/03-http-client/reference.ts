/**
 * Kata 3 — a minimal HTTP/1.1 client on a bare socket.
 *
 *   deno run --allow-net reference.ts http://localhost:8080/path
 *
 * Prints the status line and the body to stdout (nothing else goes there),
 * and what it resolved, where it connected and any Location to stderr.
 *
 * Exit status: 0 a response was read (whatever its status: a 404 is a
 * correct answer), 2 bad usage, 3 unknown host, 4 connection refused,
 * 5 timeout, 6 malformed, incomplete or reset response, 7 chunked body
 * (outside this kata).
 *
 * @module
 */

import { lookup } from "node:dns/promises";

/** Where output goes; `run` is testable with in-memory writers. */
export interface Output {
  stdout: { write(bytes: Uint8Array): Promise<number> };
  stderr: { write(bytes: Uint8Array): Promise<number> };
}

/** A failure with its exit status and the one sentence the user sees. */
class ClientError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/**
 * Response heads longer than this are refused: a client must not trust
 * sizes from the wire, and without a limit a server that never ends its
 * head would fill our memory. Interim (1xx) heads count too, or a server
 * could send 100 Continue for ever.
 */
const MAX_HEAD_BYTES = 64 * 1024;
/** Give up when the server says nothing for this long. */
const READ_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();

/** Runs the client with command-line `args`; returns the exit status. */
export async function run(args: string[], output: Output): Promise<number> {
  const say = (text: string) => writeAll(output.stderr, encoder.encode(text + "\n"));
  try {
    if (args.length !== 1) {
      throw new ClientError(2, "Usage: reference.ts http://HOST[:PORT]/PATH");
    }
    await fetchAndPrint(args[0], output, say);
    return 0;
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    await say(error.message);
    return error.exitCode;
  }
}

async function fetchAndPrint(
  text: string,
  output: Output,
  say: (text: string) => Promise<void>,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientError(2, `Not a URL: ${text}`);
  }
  if (url.protocol !== "http:") {
    throw new ClientError(
      2,
      `Only http:// URLs are supported, not ${url.protocol}//`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 80);

  // 1. Resolve like getaddrinfo(): /etc/hosts, then DNS; every address.
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    throw new ClientError(3, `Cannot resolve ${host}: no such host`);
  }
  await say(
    `${host} resolves to ${addresses.map((a) => a.address).join(", ")}`,
  );

  // 2. Connect to the first address that answers.
  const conn = await connectToFirst(
    addresses.map((a) => a.address),
    port,
    host,
  );
  try {
    // 3. The request. Host is mandatory in HTTP/1.1; Connection: close asks
    //    the server to close after the response. Every line ends in CRLF and
    //    an empty line ends the head.
    const hostHeader = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
      `Host: ${hostHeader}\r\n` +
      `Connection: close\r\n` +
      `User-Agent: netkata-kata3\r\n` +
      `\r\n`;
    try {
      await writeAll(conn, encoder.encode(request));
    } catch (error) {
      if (!isReset(error)) throw error;
      throw new ClientError(6, "The server reset the connection before the request was sent");
    }

    // 4. The response head, then the body it announces.
    const reader = new Reader(conn);
    let head = await reader.readHead();
    // 1xx answers are interim (100 Continue): the real one follows.
    while (head.status >= 100 && head.status < 200) {
      head = await reader.readHead();
    }
    await writeAll(output.stdout, encoder.encode(head.statusLine + "\n"));
    if (head.status === 301 || head.status === 302) {
      await say(
        `Location: ${head.headers.get("location") ?? "(none)"} (not followed)`,
      );
    }
    await readBody(reader, head, output);
  } finally {
    conn.close();
  }
}

/**
 * ECONNRESET while reading, EPIPE while writing: the server reset the
 * connection (or crashed). That can happen at any moment, even halfway
 * through the body; it is the server's doing, and the user needs one
 * sentence about it, not a stack trace.
 */
function isReset(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected;
}

async function connectToFirst(
  addresses: string[],
  port: number,
  host: string,
): Promise<Deno.TcpConn> {
  for (const hostname of addresses) {
    try {
      return await Deno.connect({ hostname, port });
    } catch (error) {
      if (isReset(error)) {
        throw new ClientError(6, `The server reset the connection as soon as it was made (${host}:${port})`);
      }
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
      // Try the next address (an IPv6 address may refuse where IPv4 answers).
    }
  }
  throw new ClientError(
    4,
    `Connection refused by ${host}:${port} (${addresses.join(", ")}): is the server running?`,
  );
}

interface Head {
  statusLine: string;
  status: number;
  /** Header names are case-insensitive: keys are lower case. */
  headers: Map<string, string>;
}

/** Reads from the connection, keeping what arrives past the head for the body. */
class Reader {
  #buffer: Uint8Array = new Uint8Array(0);
  /** Bytes of heads read so far, interim ones included: the head limit covers them all. */
  #headBytes = 0;
  /** Bytes received so far, for messages. */
  #received = 0;
  constructor(readonly conn: Deno.TcpConn) {}

  /** Reads more bytes; null when the server closed. */
  async more(): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(64 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ClientError(5, "Timed out: the server sent nothing for 10 s"),
          ),
        READ_TIMEOUT_MS,
      );
    });
    try {
      const n = await Promise.race([this.conn.read(chunk), timeout]);
      if (n === null) return null;
      this.#received += n;
      return chunk.subarray(0, n);
    } catch (error) {
      if (!isReset(error)) throw error;
      throw new ClientError(
        6,
        `The server reset the connection after ${this.#received} bytes of the response, before it was complete`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The bytes received but not yet used; empties the buffer. */
  take(): Uint8Array {
    const bytes = this.#buffer;
    this.#buffer = new Uint8Array(0);
    return bytes;
  }

  /** One response head. A head may arrive one byte at a time: loop until CRLFCRLF. */
  async readHead(): Promise<Head> {
    const tooLong = () => new ClientError(6, "The response head is over 64 KiB");
    let end;
    while ((end = indexOfBlankLine(this.#buffer)) === -1) {
      if (this.#headBytes + this.#buffer.length > MAX_HEAD_BYTES) throw tooLong();
      const chunk = await this.more();
      if (chunk === null) {
        throw new ClientError(
          6,
          "The server closed the connection before the end of the response head",
        );
      }
      this.#buffer = concat(this.#buffer, chunk);
    }
    // The head may have arrived whole, limit or no limit: check it too.
    this.#headBytes += end + 4;
    if (this.#headBytes > MAX_HEAD_BYTES) throw tooLong();
    const text = new TextDecoder("latin1").decode(
      this.#buffer.subarray(0, end),
    );
    this.#buffer = this.#buffer.subarray(end + 4);
    const [statusLine, ...lines] = text.split("\r\n");
    const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!match) {
      throw new ClientError(6, `Not an HTTP/1.x status line: "${statusLine}"`);
    }
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new ClientError(6, `Malformed header line: "${line}"`);
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(
        name,
        previous === undefined ? value : `${previous}, ${value}`,
      );
    }
    return { statusLine, status: Number(match[1]), headers };
  }
}

/** RFC 9112 section 6.3: how long the body is, in order of precedence. */
async function readBody(
  reader: Reader,
  head: Head,
  output: Output,
): Promise<void> {
  // These responses never have a body, whatever their headers say.
  if (head.status === 204 || head.status === 304) return;
  if (head.headers.has("transfer-encoding")) {
    throw new ClientError(
      7,
      `The body uses Transfer-Encoding: ${head.headers.get("transfer-encoding")}; chunked bodies are outside this kata`,
    );
  }
  const length = head.headers.get("content-length");
  if (length === undefined) {
    // No length: the body ends when the server closes the connection.
    await writeAll(output.stdout, reader.take());
    for (let chunk; (chunk = await reader.more()) !== null;) {
      await writeAll(output.stdout, chunk);
    }
    return;
  }
  if (!/^\d+$/.test(length)) {
    throw new ClientError(6, `Invalid Content-Length: "${length}"`);
  }
  // Exactly Content-Length bytes: no fewer (a short body is an error, not
  // the end), and no waiting for a close the server may never send.
  let remaining = Number(length);
  let chunk: Uint8Array | null = reader.take();
  while (remaining > 0) {
    if (chunk.length === 0) {
      chunk = await reader.more();
      if (chunk === null) {
        throw new ClientError(
          6,
          `The server closed the connection ${remaining} bytes before the end of the body (Content-Length: ${length})`,
        );
      }
    }
    const part = chunk.subarray(0, remaining);
    await writeAll(output.stdout, part);
    remaining -= part.length;
    chunk = chunk.subarray(part.length);
  }
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** A write may write fewer bytes than given: loop until all are out. */
async function writeAll(
  writer: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await writer.write(bytes.subarray(offset));
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args, { stdout: Deno.stdout, stderr: Deno.stderr }));
}

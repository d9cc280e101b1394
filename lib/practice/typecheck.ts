/**
 * The type check of a practice attempt, as a stage: `deno run` does not
 * type-check, so without it an attempt with a type error can pass every
 * stage and teach the learner nothing about the types of Deno's socket
 * API.
 *
 * `deno check` costs a second or more per save (tsc starting up, the
 * Deno types loaded again), longer than the stages of most katas. So a
 * session keeps one Deno language server (`deno lsp`) warm instead, started
 * while the learner reads the card: it answers a changed file in tens of
 * milliseconds. `deno check` is the fallback when the language server cannot
 * start or does not answer in time. Either way a verdict is kept by the
 * file's content: editors save unchanged files, and a save may touch only
 * the file's time.
 *
 * @module
 */

import { RESOLUTION_FLAGS } from "../check/sandbox.ts";
import type { StageResult } from "../check/stage.ts";

/** The stage's name, as the report and the mistake log show it. A core stage: a type error fails the attempt. */
export const TYPE_CHECK_STAGE = "type-checks";

/** How long one type check may take, by either way: seconds, even on a busy machine. */
const TIMEOUT_MS = 30_000;

const HINT = "deno run does not type-check, but the kata does: fix the types, as your editor shows them";

/** The type checker of one session; dispose it to stop its language server. */
export class TypeChecker implements AsyncDisposable {
  /** Verdicts by the SHA-256 of the file's content. */
  readonly #verdicts = new Map<string, Promise<StageResult>>();
  #server: LanguageServer | undefined;
  #serverFailed = false;
  #disposed = false;

  /** Whether to keep a language server warm (false: `deno check` on every new content). */
  constructor(readonly options: { languageServer?: boolean } = {}) {}

  /**
   * Type-checks the Deno file at `path`: a passed or failed stage, whose
   * message is the first error and whose details say where it is.
   *
   * @example
   * ```ts ignore
   * import { TypeChecker } from "./typecheck.ts";
   * await using checker = new TypeChecker();
   * const result = await checker.run("logs/01-echo-threaded/attempt-001.ts");
   * if (result.status === "fail") console.log(result.message);
   * ```
   */
  async run(path: string): Promise<StageResult> {
    if (this.#disposed) throw new LanguageServerError("The type checker was stopped");
    const text = await Deno.readTextFile(path);
    const hash = await sha256(text);
    let verdict = this.#verdicts.get(hash);
    if (!verdict) {
      verdict = this.#check(path, text);
      this.#verdicts.set(hash, verdict);
    }
    return await verdict;
  }

  async #check(path: string, text: string): Promise<StageResult> {
    const started = performance.now();
    if (this.#disposed) throw new LanguageServerError("The type checker was stopped");
    if ((this.options.languageServer ?? true) && !this.#serverFailed) {
      try {
        this.#server ??= new LanguageServer(directoryOf(path));
        const errors = await this.#server.diagnose(path, text, TIMEOUT_MS);
        return verdictOf(errors, performance.now() - started);
      } catch (error) {
        if (!(error instanceof LanguageServerError)) throw error;
        // Stopped with the session: no check is wanted any more.
        if (this.#disposed) throw new LanguageServerError("The type checker was stopped");
        // No language server here: deno check does the same, only slower.
        this.#serverFailed = true;
        await this.#server?.close();
      }
    }
    return await denoCheck(path, started);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    await this.#server?.close();
  }
}

function directoryOf(path: string): string {
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  return absolute.slice(0, absolute.lastIndexOf("/")) || "/";
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest)).map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A type error where the learner can find it. */
interface TypeProblem {
  code: string;
  message: string;
  /** "file.ts:12:7" */
  where: string;
}

function verdictOf(errors: readonly TypeProblem[], durationMs: number): StageResult {
  if (errors.length === 0) return { name: TYPE_CHECK_STAGE, level: "core", status: "pass", durationMs };
  const [first, ...rest] = errors;
  return {
    name: TYPE_CHECK_STAGE,
    level: "core",
    status: "fail",
    durationMs,
    message: `${first.code}: ${first.message.split("\n")[0]}`,
    details: [`at ${first.where}`, ...(rest.length > 0 ? [`and ${rest.length} more type error(s)`] : [])].join("\n"),
    hint: HINT,
  };
}

/** `deno check`, resolved as the attempt is run (`RESOLUTION_FLAGS`), so the graph checked is the graph run. */
async function denoCheck(path: string, started: number): Promise<StageResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...RESOLUTION_FLAGS, path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const durationMs = performance.now() - started;
  if (output.success) return verdictOf([], durationMs);
  if (output.signal) {
    return {
      name: TYPE_CHECK_STAGE,
      level: "core",
      status: "fail",
      durationMs,
      message: `deno check did not finish within ${TIMEOUT_MS / 1000} s`,
    };
  }
  // TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.
  //     at file:///…/attempt-001.ts:3:7
  const said = new TextDecoder().decode(output.stderr); // plain: NO_COLOR is set
  const errors = [...said.matchAll(/^(TS\d+) \[ERROR\]: (.*)$[^]*?^\s+at (\S+)$/gm)].map((
    [, code, message, where],
  ) => ({
    code,
    message,
    where: decodeURIComponent(where.replace(/^file:\/\//, "")),
  }));
  return errors.length > 0 ? verdictOf(errors, durationMs) : {
    name: TYPE_CHECK_STAGE,
    level: "core",
    status: "fail",
    durationMs,
    message: said.trim().split("\n").find((line) => line.trim() !== "") ?? `deno check exited with ${output.code}`,
    hint: HINT,
  };
}

/** The language server could not start or did not answer. */
class LanguageServerError extends Error {}

/**
 * A `deno lsp` child speaking JSON-RPC over its standard streams: the
 * attempt is opened once and changed on every check; the server answers
 * each version with its diagnostics.
 */
class LanguageServer {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #listeners = new Set<(message: LspMessage) => void>();
  readonly #ready: Promise<void>;
  readonly #versions = new Map<string, number>();
  #closed = false;

  constructor(root: string) {
    try {
      this.#child = new Deno.Command(Deno.execPath(), {
        args: ["lsp"],
        cwd: root,
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
    } catch (error) {
      throw new LanguageServerError(`Cannot start deno lsp: ${error instanceof Error ? error.message : error}`);
    }
    this.#writer = this.#child.stdin.getWriter();
    this.#read();
    this.#ready = this.#initialize(root);
    this.#ready.catch(() => {}); // awaited by diagnose
  }

  async #initialize(root: string): Promise<void> {
    const initialized = this.#next((message) => message.id === 1, TIMEOUT_MS);
    initialized.catch(() => {}); // awaited below, unless sending fails first
    await this.#send({
      id: 1,
      method: "initialize",
      params: {
        processId: null,
        rootUri: fileUri(root),
        capabilities: {},
        initializationOptions: { enable: true, lint: false },
      },
    });
    await initialized;
    await this.#send({ method: "initialized", params: {} });
  }

  /** The type errors of `text` as the content of `path`. */
  async diagnose(path: string, text: string, timeoutMs: number): Promise<TypeProblem[]> {
    await this.#ready;
    const uri = fileUri(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
    const version = (this.#versions.get(uri) ?? 0) + 1;
    this.#versions.set(uri, version);
    const answered = this.#next(
      (m) => m.method === "textDocument/publishDiagnostics" && m.params?.uri === uri && m.params?.version === version,
      timeoutMs,
    );
    answered.catch(() => {}); // awaited below, unless sending fails first
    await this.#send(
      version === 1
        ? {
          method: "textDocument/didOpen",
          params: { textDocument: { uri, languageId: "typescript", version, text } },
        }
        : {
          method: "textDocument/didChange",
          params: { textDocument: { uri, version }, contentChanges: [{ text }] },
        },
    );
    const { params } = await answered;
    return (params?.diagnostics ?? []).filter((d) => d.severity === 1).map((d) => ({
      code: typeof d.code === "number" ? `TS${d.code}` : String(d.code ?? d.source ?? "error"),
      message: d.message,
      where: `${path}:${d.range.start.line + 1}:${d.range.start.character + 1}`,
    }));
  }

  /** Resolves with the first message `matches` accepts; rejects after `timeoutMs` or when the server ends. */
  #next(matches: (message: LspMessage) => boolean, timeoutMs: number): Promise<LspMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new LanguageServerError(`deno lsp did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const listener = (message: LspMessage) => {
        if (message.method === "$ended") {
          clearTimeout(timer);
          this.#listeners.delete(listener);
          reject(new LanguageServerError("deno lsp ended"));
        } else if (matches(message)) {
          clearTimeout(timer);
          this.#listeners.delete(listener);
          resolve(message);
        }
      };
      this.#listeners.add(listener);
    });
  }

  async #send(message: Record<string, unknown>): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", ...message }));
    const header = new TextEncoder().encode(`Content-Length: ${body.length}\r\n\r\n`);
    try {
      await this.#writer.write(header);
      await this.#writer.write(body);
    } catch (error) {
      throw new LanguageServerError(`Cannot talk to deno lsp: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** Reads framed messages; answers the server's own requests (configuration, registrations). */
  async #read(): Promise<void> {
    let buffered: Uint8Array = new Uint8Array(0);
    try {
      for await (const chunk of this.#child.stdout) {
        buffered = concat(buffered, chunk);
        for (let message; (message = takeMessage(buffered));) {
          buffered = buffered.subarray(message.length);
          this.#receive(message.body);
        }
      }
    } catch {
      // The server was stopped: nothing more to read.
    }
    for (const listener of [...this.#listeners]) listener({ method: "$ended" });
  }

  #receive(message: LspMessage) {
    if (message.method && message.id !== undefined) {
      // A request from the server: every workspace setting is "enabled", everything else needs no answer.
      const items = message.method === "workspace/configuration" ? message.params?.items ?? [] : undefined;
      this.#send({ id: message.id, result: items ? items.map(() => ({ enable: true, lint: false })) : null })
        .catch(() => {});
    }
    for (const listener of [...this.#listeners]) listener(message);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

/** The fields of a JSON-RPC message this client reads. */
interface LspMessage {
  id?: number;
  method?: string;
  params?: {
    uri?: string;
    version?: number;
    items?: unknown[];
    diagnostics?: {
      severity?: number;
      code?: number | string;
      source?: string;
      message: string;
      range: { start: { line: number; character: number } };
    }[];
  };
}

function fileUri(path: string): string {
  return `file://${path.split("/").map(encodeURIComponent).join("/")}`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** One whole `Content-Length:`-framed message at the start of `buffer`, or undefined while it is still arriving. */
function takeMessage(buffer: Uint8Array): { length: number; body: LspMessage } | undefined {
  const headerEnd = buffer.findIndex((_, i) =>
    buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10
  );
  if (headerEnd === -1) return undefined;
  const header = new TextDecoder().decode(buffer.subarray(0, headerEnd));
  const length = Number(/Content-Length: (\d+)/i.exec(header)?.[1]);
  const start = headerEnd + 4;
  if (!Number.isFinite(length) || buffer.length < start + length) return undefined;
  const body = JSON.parse(new TextDecoder().decode(buffer.subarray(start, start + length)));
  return { length: start + length, body };
}

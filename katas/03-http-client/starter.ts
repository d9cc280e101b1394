/**
 * Kata 3 — a minimal HTTP/1.1 client on a bare socket.
 *
 * Goal: `deno run --allow-net <this file> http://localhost:8080/path` prints
 * the status line, a newline, and exactly the body to stdout. Everything
 * else (what you resolved, a 301's Location, errors) goes to stderr. Exit 0
 * when a response was read, whatever its status; non-zero, with one
 * sentence on stderr, when it could not be.
 *
 * Check it: deno task kata:3 check --file <this file>
 * Poke it:  deno task kata:3 fixture   (a server with every awkward case)
 *
 * @module
 */

// deno-lint-ignore no-unused-vars
import { lookup } from "node:dns/promises";

/** Where output goes, so that the checker can run you in-process too. */
export interface Output {
  stdout: { write(bytes: Uint8Array): Promise<number> };
  stderr: { write(bytes: Uint8Array): Promise<number> };
}

/** Runs the client with command-line `args`; returns the exit status. */
export async function run(args: string[], output: Output): Promise<number> {
  const url = new URL(args[0]);
  // TODO: resolve url.hostname with lookup(…, { all: true }), like getaddrinfo.
  // TODO: connect to the first address that answers, on url.port (or 80).
  // TODO: send "GET <path> HTTP/1.1", Host and Connection: close — every
  //       line ends in \r\n, and an empty line ends the head.
  // TODO: read until the blank line (it may take many reads!), parse the
  //       status line and the headers (names are case-insensitive).
  // TODO: print the status line and "\n", then exactly Content-Length bytes
  //       of body (no Content-Length: until the server closes).
  // TODO: a 301: print its Location to stderr; do not follow it.
  // TODO: refuse a head over a limit (64 KiB): the server may never end it.
  // TODO: a reset (Deno.errors.ConnectionReset) can come at any moment, even
  //       mid-body: one sentence on stderr and a non-zero exit, no stack trace.
  await output.stderr.write(
    new TextEncoder().encode(`not written yet: ${url}\n`),
  );
  return 1;
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args, { stdout: Deno.stdout, stderr: Deno.stderr }));
}

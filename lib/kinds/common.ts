/**
 * What every kata command shares: the flags, and the small helpers for
 * usage errors, ports and Ctrl-C.
 *
 * @module
 */

import type { Kata } from "../../katas/catalog.ts";
import { UsageError } from "../../lib/cli/errors.ts";

/** Every flag `deno task kata:N` takes; each kind of kata reads its own. */
export interface KataFlags {
  reference?: boolean;
  "reference-c"?: boolean;
  file?: string;
  cmd?: string;
  port?: string;
  host?: string;
  json?: boolean;
  loss?: string;
  repeats?: string;
  seconds?: string;
  "udp-rate"?: string;
  cc?: string;
  server?: string;
  tool?: string;
  delay?: string;
  rate?: string;
}

/** Refuses positional arguments a command does not take. */
export function expectNoMore(rest: string[], command: string) {
  if (rest.length > 0) {
    throw new UsageError(`Unexpected argument after ${command}: ${rest[0]}`);
  }
}

/** A port from the command line, 1 to 65535, or a usage error. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new UsageError(
      `--port takes a number from 1 to 65535, not "${text}"`,
    );
  }
  return port;
}

/** Says why a check could not even start: one sentence, or a JSON report saying so. */
export function reportCannotStart(kata: Kata, message: string, json: boolean): void {
  if (json) console.log(JSON.stringify({ kata: kata.number, passed: false, error: message }, null, 2));
  else console.error(message);
}

/**
 * Starts a server on `port`; when the port is taken, says so in one
 * sentence and returns undefined (the caller exits 1).
 */
export async function listenOrExplain<T>(port: number, start: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    console.error(`Port ${port} is already in use: stop whatever listens there, or pass --port`);
    return undefined;
  }
}

/** Resolves on Ctrl-C: how `run` commands wait before shutting down. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => Deno.addSignalListener("SIGINT", resolve));
}

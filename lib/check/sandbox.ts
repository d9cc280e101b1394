/**
 * The `--file` sandbox: how a Deno attempt runs, so that it can use the
 * one port the checker gave it and nothing else.
 *
 * Permissions are half of it. Deno's permissions do not cover module
 * loading: `import secret from "/etc/passwd" with { type: "text" }` (or the
 * same with a literal `import(…)`) is loaded with the module graph, before
 * any permission is asked. So the graph is read first (`deno info --json`)
 * and an attempt is refused, in one sentence, if it imports anything but
 * Node's built-in modules: a --file attempt is one file, like a reference.
 * What the graph cannot show, an `import(expression)`, is loaded at run
 * time, and Deno checks it then: a local file needs read access (which the
 * attempt does not have), and remote and npm modules are turned off.
 *
 * @module
 */

/**
 * Module resolution for both `deno info` and `deno run`, so that the graph
 * read is the graph run: no deno.json (no import map, no unstable
 * features) and no lock file from wherever the attempt sits, and nothing
 * fetched from the network (so no `npm:`, `jsr:` or `https:` import).
 */
export const RESOLUTION_FLAGS: readonly string[] = ["--no-config", "--no-lock", "--no-remote", "--no-npm"];

/** Where a spawned attempt listens or its fixture listens: loopback. */
const LOOPBACK = "127.0.0.1";

/**
 * The network a server attempt gets: listening on `port` of loopback,
 * nothing else (no connections out, no other port).
 *
 * @example
 * ```ts
 * import { serverNetFlags } from "./sandbox.ts";
 * serverNetFlags(4242); // ["--allow-net=127.0.0.1:4242"]
 * ```
 */
export function serverNetFlags(port: number): string[] {
  return [`--allow-net=${LOOPBACK}:${port}`];
}

/** Ports per --deny-net argument: one argument may hold 128 KiB on Linux. */
const DENY_PORTS_PER_ARGUMENT = 5_000;

/**
 * `localhost:P` for every port P of each argument's range (1–5000,
 * 5001–10000, …), joined once: a client's every run needs all but one of
 * them, and building 65 534 entries anew is a cost on every run.
 */
let denyAllLocalhost: string[] | undefined;

/** `localhost:first,…,localhost:last`, leaving out `except`. */
function localhostPorts(first: number, last: number, except?: number): string {
  const entries: string[] = [];
  for (let port = first; port <= last; port++) {
    if (port !== except) entries.push(`localhost:${port}`);
  }
  return entries.join(",");
}

/**
 * The TCP ports something listens on, on any address, from what
 * `ss -H -l -t -n` prints ("LISTEN 0 128 127.0.0.1:8080 0.0.0.0:*") or
 * from Linux's `/proc/net/tcp` and `/proc/net/tcp6` ("0: 0100007F:1F90
 * 00000000:0000 0A …": the port in hex, state 0A for LISTEN).
 *
 * @example
 * ```ts
 * import { parseListeningPorts } from "./sandbox.ts";
 * parseListeningPorts("LISTEN 0 128 [::1]:8080 [::]:*\n"); // Set { 8080 }
 * parseListeningPorts("   0: 0100007F:1F90 00000000:0000 0A\n"); // Set { 8080 }
 * ```
 */
export function parseListeningPorts(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const portOf = (address: string, radix: number) => parseInt(address.slice(address.lastIndexOf(":") + 1), radix);
    if (fields[0] === "LISTEN" && fields[3]?.includes(":")) ports.add(portOf(fields[3], 10));
    else if (fields[3] === "0A" && fields[1]?.includes(":")) ports.add(portOf(fields[1], 16));
  }
  return ports;
}

/**
 * The network a client attempt gets: the fixture's `port` on loopback,
 * by address or by the name `localhost`, and nothing else.
 *
 * Resolving a name with `node:dns` (as a client that tries every address
 * does) needs `--allow-net` for the bare name, and Deno then lets that name
 * connect to every port. So the bare name is allowed and its other ports
 * denied, one `--deny-net` entry each (deny wins over allow); the addresses
 * themselves are allowed on the fixture's port only.
 *
 * Which ports: where `listening` says what listens now, those (a port where
 * nothing listens refuses the connection anyway); a port that starts
 * listening while the attempt runs is the one gap. Otherwise all 65 534:
 * about 1 MB of arguments, which Deno parses on every start (about 50 ms,
 * a third of a Kata 3 check's time) and which macOS's argument limit
 * refuses.
 *
 * @example
 * ```ts
 * import { clientNetFlags } from "./sandbox.ts";
 * const flags = clientNetFlags(8080, new Set([22, 8080]));
 * flags; // ["--allow-net=localhost,127.0.0.1:8080,[::1]:8080", "--deny-net=localhost:22"]
 * ```
 */
export function clientNetFlags(port: number, listening: Set<number> | undefined): string[] {
  const allow = `--allow-net=localhost,${LOOPBACK}:${port},[::1]:${port}`;
  if (listening) {
    const others = [...listening].filter((other) => other !== port).sort((a, b) => a - b);
    const deny: string[] = [];
    for (let i = 0; i < others.length; i += DENY_PORTS_PER_ARGUMENT) {
      deny.push(`--deny-net=${others.slice(i, i + DENY_PORTS_PER_ARGUMENT).map((p) => `localhost:${p}`).join(",")}`);
    }
    return [allow, ...deny];
  }
  denyAllLocalhost ??= Array.from(
    { length: Math.ceil(65_535 / DENY_PORTS_PER_ARGUMENT) },
    (_, i) => localhostPorts(i * DENY_PORTS_PER_ARGUMENT + 1, Math.min(65_535, (i + 1) * DENY_PORTS_PER_ARGUMENT)),
  );
  // Only the argument whose range holds the fixture's port is built anew.
  const holding = Math.floor((port - 1) / DENY_PORTS_PER_ARGUMENT);
  const denied = denyAllLocalhost.map((all, i) =>
    i === holding
      ? localhostPorts(i * DENY_PORTS_PER_ARGUMENT + 1, Math.min(65_535, (i + 1) * DENY_PORTS_PER_ARGUMENT), port)
      : all
  );
  return [allow, ...denied.map((list) => `--deny-net=${list}`)];
}

/** The parts of `deno info --json` this module reads. */
export interface ModuleGraph {
  roots: string[];
  modules: {
    specifier: string;
    error?: string;
    dependencies?: {
      specifier: string;
      code?: { specifier?: string };
      assertionType?: string;
    }[];
  }[];
}

/**
 * Says in one sentence why the attempt at `path`, whose module graph
 * (`deno info --json`) is `graph`, may not run; undefined when it may. It
 * may import Node's built-in modules (`node:…`) and nothing else, and no
 * import may carry a `type` (text, bytes, json: each reads a file). An
 * attempt that does not even load (a syntax error, a missing file) is not
 * refused here: running it says what is wrong, as it would for any program.
 *
 * @example
 * ```ts
 * import { importRefusal } from "./sandbox.ts";
 * const graph = {
 *   roots: ["file:///a.ts"],
 *   modules: [{
 *     specifier: "file:///a.ts",
 *     dependencies: [{ specifier: "/etc/passwd", code: { specifier: "file:///etc/passwd" }, assertionType: "text" }],
 *   }],
 * };
 * importRefusal(graph, "a.ts"); // "a.ts imports /etc/passwd as text: an attempt may not read files, …"
 * ```
 */
export function importRefusal(graph: ModuleGraph, path: string): string | undefined {
  const root = graph.modules.find((module) => module.specifier === graph.roots[0]);
  if (!root || root.error) return undefined;
  for (const dependency of root.dependencies ?? []) {
    if (dependency.assertionType !== undefined) {
      return `${path} imports ${dependency.specifier} as ${dependency.assertionType}: an attempt may not read files, not even through an import`;
    }
    if (!dependency.code?.specifier?.startsWith("node:")) {
      return `${path} imports ${dependency.specifier}: a --file attempt is one file, which may import Node's built-in modules (node:…) and nothing else`;
    }
  }
  return undefined;
}

/**
 * The `--file` sandbox: an attempt runs with network access to one loopback
 * port and nothing else, and what it imports cannot smuggle in what its
 * permissions deny (permissions do not cover module loading).
 */

import assert from "node:assert/strict";
import { clientUnderTest } from "../lib/check/client.ts";
import { clientNetFlags, importRefusal, type ModuleGraph, parseListeningPorts } from "../lib/check/sandbox.ts";
import { startTarget, TargetError } from "../lib/check/target.ts";
import { kitArgs, requires, ROOT, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");

function sandboxTest(name: string, fn: (dir: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix}`,
    ignore: needs.ignore,
    fn: () => withTempDir("netkata-sandbox-", fn),
  });
}

Deno.test("importRefusal() allows Node's built-in modules and an attempt that does not load, nothing else", () => {
  const graph = (dependencies: ModuleGraph["modules"][number]["dependencies"], error?: string): ModuleGraph => ({
    roots: ["file:///a.ts"],
    modules: [{ specifier: "file:///a.ts", error, dependencies }],
  });
  const node = { specifier: "node:util", code: { specifier: "node:util" } };
  assert.equal(importRefusal(graph([node]), "a.ts"), undefined);
  assert.equal(importRefusal(graph([], "SyntaxError: Expression expected"), "a.ts"), undefined);
  assert.match(
    importRefusal(graph([node, { specifier: "./b.ts", code: { specifier: "file:///b.ts" } }]), "a.ts")!,
    /^a\.ts imports \.\/b\.ts: a --file attempt is one file/,
  );
  assert.match(
    importRefusal(
      graph([{ specifier: "./a.json", code: { specifier: "file:///a.json" }, assertionType: "json" }]),
      "a.ts",
    )!,
    /^a\.ts imports \.\/a\.json as json: /,
  );
  assert.match(
    importRefusal(
      graph([{ specifier: "data:text/javascript,1", code: { specifier: "data:text/javascript,1" } }]),
      "a.ts",
    )!,
    /imports data:text\/javascript,1: /,
  );
});

Deno.test("clientNetFlags() without a list of listening ports denies every port of localhost but the fixture's", () => {
  const [allow, ...deny] = clientNetFlags(8080, undefined);
  assert.equal(allow, "--allow-net=localhost,127.0.0.1:8080,[::1]:8080");
  const denied = deny.flatMap((flag) => flag.replace(/^--deny-net=/, "").split(","));
  assert.equal(denied.length, 65_534);
  assert.ok(!denied.includes("localhost:8080"));
  assert.ok(denied.includes("localhost:1") && denied.includes("localhost:65535"));
  // Linux takes at most 128 KiB in one argument.
  assert.ok(deny.every((flag) => flag.length < 128 * 1024));
});

Deno.test("clientNetFlags() denies the name's ports where something listens, but the fixture's: a short list", () => {
  const [allow, ...deny] = clientNetFlags(8080, new Set([22, 8080, 5432, 40_001]));
  assert.equal(allow, "--allow-net=localhost,127.0.0.1:8080,[::1]:8080");
  assert.deepEqual(deny, ["--deny-net=localhost:22,localhost:5432,localhost:40001"]);
  assert.deepEqual(clientNetFlags(8080, new Set([8080])), [allow], "nothing else listens: nothing to deny");
});

Deno.test({
  name: `parseListeningPorts() reads ss and /proc/net/tcp alike: a listener by IPv4 and IPv6, not one that closed${
    needs.suffix || (Deno.build.os === "linux" ? "" : " [ignored: ss and /proc/net/tcp are Linux's]")
  }`,
  ignore: needs.ignore || Deno.build.os !== "linux",
  async fn() {
    const v4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const v6 = Deno.listen({ hostname: "::1", port: 0 });
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const [p4, p6, gone] = [v4, v6, closed].map((listener) => (listener.addr as Deno.NetAddr).port);
    closed.close();
    try {
      for (const [program, ...args] of [["cat", "/proc/net/tcp", "/proc/net/tcp6"], ["ss", "-H", "-l", "-t", "-n"]]) {
        const output = await new Deno.Command(program, { args }).output();
        const ports = parseListeningPorts(new TextDecoder().decode(output.stdout));
        assert.ok(ports.has(p4), `${program}: IPv4 listener on ${p4} not seen`);
        assert.ok(ports.has(p6), `${program}: IPv6 listener on ${p6} not seen`);
        assert.ok(!ports.has(gone), `${program}: closed listener on ${gone} still seen`);
      }
    } finally {
      v4.close();
      v6.close();
    }
  },
});

/**
 * An attempt that, if it ever ran, would print the file and exit: the
 * harness then quotes its output in the error, so a leak would show.
 */
const LEAKS: Record<string, string> = {
  "a static text import": `import secret from "/etc/passwd" with { type: "text" };
console.log(secret);
Deno.exit(3);
`,
  "a literal dynamic text import": `const { default: secret } = await import("/etc/passwd", { with: { type: "text" } });
console.log(secret);
Deno.exit(3);
`,
};

for (const [how, source] of Object.entries(LEAKS)) {
  sandboxTest(
    `startTarget() refuses a --file attempt that reads /etc/passwd through ${how}, and never runs it`,
    async (dir) => {
      const path = `${dir}/attempt.ts`;
      await Deno.writeTextFile(path, source);
      await assert.rejects(
        startTarget({ kind: "deno-file", path }),
        (error: Error) => {
          assert.ok(error instanceof TargetError, String(error));
          assert.match(error.message, /imports \/etc\/passwd as text: /);
          assert.doesNotMatch(error.message, /\n/, "one sentence, one line");
          assert.doesNotMatch(error.message, /root:/, "the attempt ran and printed the file");
          assert.doesNotMatch(error.message, /exited with status/, "the attempt ran");
          return true;
        },
      );
    },
  );
}

sandboxTest(
  "startTarget() refuses a --file attempt that imports a local module beside it",
  async (dir) => {
    const path = `${dir}/attempt.ts`;
    await Deno.writeTextFile(`${dir}/helper.ts`, `export const port = 9;\n`);
    await Deno.writeTextFile(
      path,
      `import { port } from "./helper.ts";\nDeno.listen({ hostname: "127.0.0.1", port });\n`,
    );
    await assert.rejects(
      startTarget({ kind: "deno-file", path }),
      (error: Error) => {
        assert.ok(error instanceof TargetError, String(error));
        assert.match(error.message, /imports \.\/helper\.ts: a --file attempt is one file/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  },
);

sandboxTest(
  "startTarget() refuses remote and npm imports in a --file attempt without fetching them",
  async (dir) => {
    for (const specifier of ["https://deno.land/x/netkata-nothing/mod.ts", "npm:netkata-nothing"]) {
      const path = `${dir}/attempt.ts`;
      await Deno.writeTextFile(path, `import "${specifier}";\n`);
      await assert.rejects(
        startTarget({ kind: "deno-file", path }),
        (error: Error) => {
          assert.ok(error instanceof TargetError, String(error));
          assert.match(error.message, new RegExp(`imports ${specifier.replaceAll(".", "\\.")}: `));
          return true;
        },
      );
    }
  },
);

sandboxTest(
  "startTarget() runs a --file attempt that imports only Node's built-in modules",
  async () => {
    await using target = await startTarget({
      kind: "deno-file",
      path: `${ROOT}katas/01-echo-threaded/reference.ts`,
    });
    using conn = await Deno.connect({ hostname: target.hostname, port: target.port });
    await conn.write(new Uint8Array([42]));
    const reply = new Uint8Array(1);
    assert.equal(await conn.read(reply), 1);
    assert.deepEqual(reply, new Uint8Array([42]));
  },
);

sandboxTest(
  "a --file server runs a private copy of the very bytes whose imports were checked, removed when it stops",
  async (dir) => {
    const path = `${dir}/server.ts`;
    // Tells each client which file is running: a save between the check and
    // the run cannot matter if what runs is a copy of the checked bytes.
    await Deno.writeTextFile(
      path,
      `import { parseArgs } from "node:util";
const { port, host } = parseArgs({ args: Deno.args, options: { port: { type: "string" }, host: { type: "string" } } }).values;
for await (const conn of Deno.listen({ hostname: host, port: Number(port) })) {
  await conn.write(new TextEncoder().encode(Deno.mainModule));
  conn.close();
}
`,
    );
    let running: string;
    {
      await using target = await startTarget({ kind: "deno-file", path });
      const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
      const bytes = new Uint8Array(4096);
      const n = (await conn.read(bytes)) ?? 0;
      conn.close();
      running = decodeURIComponent(new URL(new TextDecoder().decode(bytes.subarray(0, n))).pathname);
      assert.notEqual(running, path, "the attempt itself ran, not the checked copy");
      assert.equal(await Deno.readTextFile(running), await Deno.readTextFile(path));
    }
    await assert.rejects(Deno.stat(running), Deno.errors.NotFound, "the copy outlived the target");
  },
);

sandboxTest(
  "a --file attempt whose import() is not a literal is stopped by its permissions when it runs",
  async (dir) => {
    const path = `${dir}/attempt.ts`;
    await Deno.writeTextFile(
      path,
      `const where = ["/etc", "passwd"].join("/");
const { default: secret } = await import(where, { with: { type: "text" } });
console.log(secret);
`,
    );
    await assert.rejects(
      startTarget({ kind: "deno-file", path }),
      (error: Error) => {
        assert.ok(error instanceof TargetError, String(error));
        assert.match(error.message, /exited with status 1 before listening/);
        assert.match(error.message, /Requires read access to "\/etc\/passwd"/);
        assert.doesNotMatch(error.message, /root:/);
        return true;
      },
    );
  },
);

sandboxTest(
  "a Kata 3 --file client reaches the fixture's port and no other loopback port",
  async (dir) => {
    using fixture = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const fixturePort = (fixture.addr as Deno.NetAddr).port;
    const otherPort = (other.addr as Deno.NetAddr).port;
    const accepted = (async () => {
      let count = 0;
      try {
        for await (const conn of other) {
          count++;
          conn.close();
        }
      } catch {
        // Closed below.
      }
      return count;
    })();
    const serving = (async () => {
      try {
        for await (const conn of fixture) conn.close();
      } catch {
        // Closed below.
      }
    })();

    const path = `${dir}/client.ts`;
    await Deno.writeTextFile(
      path,
      `import { lookup } from "node:dns/promises";
const url = new URL(Deno.args[0]);
const other = Number(url.searchParams.get("other"));
async function attempt(hostname: string, port: number): Promise<string> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return "connected";
  } catch (error) {
    return (error as Error).name;
  }
}
console.log(JSON.stringify({
  resolved: (await lookup("localhost", { all: true })).length > 0,
  fixture: await attempt("localhost", Number(url.port)),
  otherByName: await attempt("localhost", other),
  otherByAddress: await attempt("127.0.0.1", other),
}));
`,
    );
    await using client = clientUnderTest({ kind: "deno-file", path });
    const result = await client.run(
      `http://localhost:${fixturePort}/?other=${otherPort}`,
      fixturePort,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(result.stdout)), {
      resolved: true,
      fixture: "connected",
      otherByName: "NotCapable",
      otherByAddress: "NotCapable",
    });
    other.close();
    fixture.close();
    assert.equal(await accepted, 0, "the client connected to a port it was not given");
    await serving;
  },
);

sandboxTest(
  "kata:3 check --file refuses a client that imports a file as text, in one sentence, before any stage",
  async (dir) => {
    const path = `${dir}/client.ts`;
    await Deno.writeTextFile(
      path,
      `import secret from "/etc/passwd" with { type: "text" };\nconsole.log(secret);\n`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: kitArgs("kata.ts", ["3", "check", "--file", path], dir),
      cwd: ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stdout + stderr);
    assert.equal(stdout, "", "a stage ran");
    assert.match(stderr, /^\S+client\.ts imports \/etc\/passwd as text: [^\n]+\n$/);
  },
);

/**
 * README commands as a new learner types them: through `deno task` itself,
 * with the permissions deno.json grants, so that a task missing a
 * permission its code needs (a tool run under `timeout`, say) fails here
 * and not only on the learner's machine.
 */

import assert from "node:assert/strict";
import { hasProgram, isRoot, kitArgs, plain, requires, ROOT, runKit, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");

/**
 * `deno task NAME ARGS` run from `cwd` with the project's deno.json, with
 * this process's environment (PATH: the tools are found where the
 * learner's shell finds them; give paths absolute, since an outer `deno
 * task` passes its INIT_CWD on), or `fromShell`, with none.
 */
async function denoTask(cwd: string, name: string, args: string[], options: { fromShell?: boolean } = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", `${ROOT}deno.json`, name, ...args],
    cwd,
    stdin: "null",
    // fromShell: no INIT_CWD of an outer `deno task` (nor PATH: give programs by full path).
    clearEnv: options.fromShell,
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => plain(new TextDecoder().decode(bytes));
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

function readmeTest(name: string, fn: (dir: string) => Promise<void>, ignore = false) {
  Deno.test({
    name: `${name}${needs.suffix}`,
    ignore: needs.ignore || ignore,
    fn: () => withTempDir("netkata-readme-", fn),
  });
}

const haveTshark = await hasProgram("tshark", ["--version"]);

readmeTest(
  `deno task pcap FILE compares its decoding with tshark's where tshark is installed${
    haveTshark ? "" : " [ignored: tshark is not installed]"
  }`,
  async (dir) => {
    await Deno.copyFile(`${ROOT}tests/fixtures/captures/handshake-no-close.pcap`, `${dir}/handshake.pcap`);
    const run = await denoTask(dir, "pcap", [`${dir}/handshake.pcap`]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, /Not permitted|No comparison/, run.stdout + run.stderr);
    assert.match(run.stdout, /tshark decodes it the same way\./, run.stdout + run.stderr);
  },
  !haveTshark,
);

/** `deno task kata:N ARGS` through the kit (tasks/kata.ts), with a private logs folder. */
async function kata(logs: string, args: string[]) {
  const run = await runKit("kata.ts", args, logs);
  return { ...run, stderr: plain(run.stderr), stdout: plain(run.stdout) };
}

readmeTest(
  "deno task kata:1 run --host an address this machine does not have says so in one sentence",
  async (logs) => {
    // 198.19.255.254: the benchmarking range the labs draw from, never a host's own address outside a lab.
    const run = await kata(logs, ["1", "run", "--host", "198.19.255.254", "--port", "9000"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(
      run.stderr.trim(),
      "Cannot listen on 198.19.255.254:9000: no interface of this machine has that address (try --host 127.0.0.1)",
    );
  },
);

readmeTest("deno task kata:4 run --host a name that does not resolve says so in one sentence", async (logs) => {
  const run = await kata(logs, ["4", "run", "--host", "nothing.invalid", "--port", "8080"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.equal(
    run.stderr.trim(),
    "Cannot listen on nothing.invalid:8080: the name does not resolve to an address (try --host 127.0.0.1)",
  );
});

readmeTest(
  "deno task kata:1 run --track syscalls --host a name refuses it before starting the server, in one sentence",
  async (logs) => {
    const run = await kata(logs, ["1", "run", "--track", "syscalls", "--host", "nothing.invalid"]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(
      run.stderr.trim().split("\n")[0],
      '--track syscalls builds its sockaddr_in from an IPv4 address: give --host as one, e.g. 127.0.0.1, not "nothing.invalid"',
    );
  },
);

/** Whether a test can run a command as nobody (uid 65534): as root, with util-linux setpriv. */
const canDropRoot = isRoot() && await hasProgram("setpriv", ["--version"]);

/**
 * `tasks/kata.ts ARGS --logs LOGS` through the kit, as nobody (uid 65534),
 * with `dir` as nobody's home and Deno cache: the test makes `dir`
 * writable by all first. Returns the exit status and stderr, plain.
 */
async function runKitAsNobody(args: string[], logs: string, dir: string) {
  // Nobody's Deno needs a cache it may write; the project is readable by all.
  await Deno.chmod(dir, 0o777);
  const output = await new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--",
      Deno.execPath(),
      ...kitArgs("kata.ts", args, logs),
    ],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1", DENO_DIR: `${dir}/deno`, HOME: dir },
  }).output();
  return { code: output.code, stderr: plain(new TextDecoder().decode(output.stderr)) };
}

readmeTest(
  `deno task kata:1 run --port 80 without root says the port needs privileges, in one sentence${
    canDropRoot ? "" : " [ignored: needs root and setpriv to run as nobody]"
  }`,
  async (dir) => {
    const { code, stderr } = await runKitAsNobody(["1", "run", "--port", "80"], dir, dir);
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.trim(),
      "Cannot listen on 127.0.0.1:80: ports below 1024 need root here (try a port from 1024 up, e.g. --port 9000)",
    );
  },
  !canDropRoot,
);

/** An executable `name` in `dir` that runs the Deno program `file` of the project with its arguments. */
async function wrapperScript(dir: string, name: string, file: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${name}`,
    `#!/bin/sh\nexec '${Deno.execPath()}' run --allow-net '${ROOT}${file}' "$@"\n`,
    { mode: 0o755 },
  );
}

readmeTest(
  'deno task kata:1 check --cmd "./my-echo {port}" runs ./my-echo from the folder the command ran in',
  async (dir) => {
    await wrapperScript(dir, "my-echo", "katas/01-echo-threaded/reference.ts");
    const run = await denoTask(dir, "kata:1", ["check", "--cmd", "./my-echo --port {port}", "--logs", "logs"], {
      fromShell: true,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /All 9 stages passed/);
  },
);

readmeTest(
  'deno task kata:3 check --cmd "./client {url}" runs ./client from the folder the command ran in',
  async (dir) => {
    await wrapperScript(dir, "client", "katas/03-http-client/reference.ts");
    const run = await denoTask(dir, "kata:3", ["check", "--cmd", "./client {url}", "--logs", "logs"], {
      fromShell: true,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /stages passed/);
  },
);

readmeTest("kata:3 check --cmd: a client that hangs without connecting is told it sent no request", async (logs) => {
  const run = await kata(logs, ["3", "check", "--cmd", "sh -c 'exec sleep 60' {url}"]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const first = run.stdout.split("\n").slice(2, 5).join("\n");
  assert.match(first, /FAIL {2}200: prints the status line and the body/, run.stdout);
  assert.match(first, /The client was still running after 10 s and had sent no request for \/ok/, run.stdout);
  assert.doesNotMatch(first, /after the response was complete/, run.stdout);
});

readmeTest("deno task status --logs FILE says it is a file, not a logs folder", async (dir) => {
  await Deno.writeTextFile(`${dir}/notes.txt`, "not a folder\n");
  // runKit passes its last argument as --logs.
  const run = await runKit("status.ts", [], `${dir}/notes.txt`);
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.equal(
    plain(run.stderr).split("\n")[0],
    `${dir}/notes.txt is a file, not a logs folder: give --logs the folder that holds attempts.jsonl`,
  );
});

readmeTest(
  `deno task kata:1 log --logs a folder nobody may write names the folder and what to do${
    canDropRoot ? "" : " [ignored: needs root and setpriv to run as nobody]"
  }`,
  async (dir) => {
    const locked = `${dir}/locked`;
    await Deno.mkdir(locked, { mode: 0o755 }); // root's: nobody may not write in it
    const { code, stderr } = await runKitAsNobody(["1", "log", "forgot htons"], locked, dir);
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.trim(),
      `Cannot write ${locked}/01-echo-threaded.md: permission denied (give --logs a folder this user can write, or change its permissions)`,
    );
  },
  !canDropRoot,
);

readmeTest("deno task kata:1 check --cmd without {port} is a usage error: exit 2, in one sentence", async (logs) => {
  const run = await kata(logs, ["1", "check", "--cmd", "echo hi"]);
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.equal(
    run.stderr.split("\n")[0],
    'The command must say where its port goes: put {port} in it, e.g. --cmd "./echo-server {port}"',
  );
});

for (const [task, args] of [["kata:1", ["log", "forgot htons"]], ["kata:1", ["card"]], ["status", []]] as const) {
  readmeTest(
    `deno task ${[task, ...args].join(" ")} --logs /proc/nope says the kit may not write there`,
    async (dir) => {
      const run = await denoTask(dir, task, [...args, "--logs", "/proc/nope"]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(
        run.stderr.split("\n")[0],
        "Cannot use /proc/nope as the logs folder: the kit may not write under /proc (give --logs a folder in your home or project)",
      );
    },
  );
}

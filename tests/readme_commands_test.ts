/**
 * README commands as a new learner types them: through `deno task` itself,
 * with the permissions deno.json grants, so that a task missing a
 * permission its code needs (a tool run under `timeout`, say) fails here
 * and not only on the learner's machine.
 */

import assert from "node:assert/strict";
import { hasProgram, plain, requires, ROOT, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");

/**
 * `deno task NAME ARGS` run from `cwd` with the project's deno.json, with
 * this process's environment (PATH: the tools are found where the
 * learner's shell finds them). Give paths absolute: an outer `deno task`
 * passes its INIT_CWD on.
 */
async function denoTask(cwd: string, name: string, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", `${ROOT}deno.json`, name, ...args],
    cwd,
    stdin: "null",
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

/**
 * Kata 5's labelling practice, end to end in a real pseudo-terminal: a
 * capture without a whole conversation is refused; the three handshake
 * packets are graded on side, flags and relative and raw seq/ack, with the
 * flags hidden; the record says who made the capture.
 */

import assert from "node:assert/strict";
import { normalizeFlags } from "../lib/kinds/capture_practice.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";
import { hasProgram, isRoot, kitArgs, requires, ROOT, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const canCapture = !needs.ignore && isRoot() && await hasProgram("tcpdump", ["--version"]) &&
  await hasProgram("nc", ["-h"]);

function sessionTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (haveScript ? "" : " [ignored: needs util-linux script]")}`,
    ignore: needs.ignore || !haveScript,
    fn: () => withTempDir("netkata-kata5-", fn),
  });
}

const kataArgs = (logs: string) => kitArgs("kata.ts", ["5"], logs);

const capture = (name: string) => `${ROOT}tests/fixtures/pcap/${name}`;

async function records(logs: string) {
  const text = await Deno.readTextFile(`${logs}/attempts.jsonl`);
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/** Opens a session and hands it the capture at `path`. */
async function start(logs: string, path: string): Promise<TerminalSession> {
  const session = new TerminalSession(kataArgs(logs), ROOT);
  await session.waitFor(/Path of your capture \(Enter: let the kit make one\):/);
  await session.type(`${path}\r`);
  return session;
}

/** The right answers for tests/fixtures/pcap/handshake-ethernet.pcap, packet by packet. */
const HANDSHAKE: [number, string[]][] = [
  [1, ["client", "SYN", "0", "665842324", "-", "-"]],
  [2, ["server", "syn ack", "0", "3115314918", "1", "665842325"]],
  [3, ["client", "ACK", "1", "665842325", "1", "3115314919"]],
];
const FIELDS = ["sent by", "flags", "seq, relative", "seq, raw", "ack, relative", "ack, raw"];
const LABELS: [number, string][] = [[4, "data"], [5, "ack"], [6, "fin"], [7, "FIN"], [8, "ACK"]];

/**
 * Answers the handshake questions with `answers`, then labels the rest: as
 * `LABELS` has them, or by `labelOf` from the tcpdump letters on screen.
 */
async function answer(
  session: TerminalSession,
  answers: [number, string[]][],
  labelOf?: (letters: string) => string,
): Promise<void> {
  for (const [number, values] of answers) {
    for (const [i, value] of values.entries()) {
      await session.waitFor(new RegExp(`#${number} ${FIELDS[i]}[^:\\n]*: *$`));
      await session.type(`${value}\r`);
    }
  }
  if (labelOf) {
    // Each prompt once: until the echo of an answer arrives, the screen still ends with the prompt answered.
    for (let number = 4;; number++) {
      const [, letters, done] = await session.waitFor(
        new RegExp(
          `(?:#${number} [^\\n]*(\\[[^\\]]*\\]) seq \\d+ ack \\d+ len \\d+ · label: *|(Every answer right \\(\\d+\\)|\\d+ of \\d+ answers wrong)[\\s\\S]*)$`,
        ),
      );
      if (done) return;
      await session.type(`${labelOf(letters)}\r`);
    }
  }
  for (const [number, label] of LABELS) {
    await session.waitFor(new RegExp(`#${number} [^\\n]*label: *$`));
    await session.type(`${label}\r`);
  }
}

sessionTest(
  "Kata 5 practice refuses a capture with no whole conversation (a SYN and a RST) and records it as failed",
  async (logs) => {
    await using session = await start(logs, capture("refused.pcap"));
    await session.waitFor(/holds no whole conversation/);
    await session.waitFor(/refused/);
    await session.waitFor(/One mistake you made this time/);
    await session.type("\r");
    assert.equal(await session.exitCode(), 0);
    const [record, ...rest] = await records(logs);
    assert.equal(rest.length, 0);
    assert.equal(record.result, "fail");
    assert.equal(record.capture, "learner");
    assert.deepEqual(record.failedStages, ["a whole conversation in the capture"]);
  },
);

sessionTest(
  "Kata 5 practice grades side, flags and relative and raw seq/ack of the handshake, flags hidden",
  async (logs) => {
    await using session = await start(logs, capture("handshake-ethernet.pcap"));
    const screen = await session.waitFor(/Initial sequence numbers: [^\n]*\n/);
    assert.match(screen[0], /127\.0\.0\.1:38682 chose 665842324/);
    const wrong: [number, string[]][] = [
      HANDSHAKE[0],
      [2, ["server", "SYN,ACK", "0", "3115314918", "1", "665842324"]], // raw ack: the ISN, not ISN + 1
      [3, ["server", "ack", "1", "665842325", "1", "3115314919"]], // the client sends it
    ];
    const [shown] = await session.waitFor(/[\s\S]*#1 sent by/);
    // The handshake's flags are the question: no tcpdump letters, no legend.
    assert.doesNotMatch(shown, /\[S\]|\[S\.\]|S SYN/);
    await answer(session, wrong);
    await session.waitFor(/2 of \d+ answers wrong/);
    await session.waitFor(/#2 ack, raw: you said 665842324, it is 665842325/);
    await session.waitFor(/#3 sent by: you said server, it is client/);
    await session.waitFor(/One mistake you made this time/);
    await session.type("\r");
    assert.equal(await session.exitCode(), 0);
    const [record] = await records(logs);
    assert.equal(record.result, "fail");
    assert.deepEqual(record.failedStages, ["#2 ack, raw", "#3 sent by"]);
  },
);

sessionTest(
  "Kata 5 practice records every answer right on the learner's own capture as a pass, with the capture's time",
  async (logs) => {
    await using session = await start(logs, capture("handshake-ethernet.pcap"));
    await answer(session, HANDSHAKE);
    await session.waitFor(/Every answer right/);
    await session.waitFor(/One mistake you made this time/);
    await session.type("\r");
    assert.equal(await session.exitCode(), 0);
    const [record] = await records(logs);
    assert.equal(record.result, "pass");
    assert.equal(record.capture, "learner");
    assert.equal(typeof record.captureMs, "number");
    assert.ok(record.captureMs <= record.durationMs);
  },
);

sessionTest(
  "Kata 5 practice labels only the whole conversation of a capture that holds a refused attempt first",
  async (logs) => {
    await using session = await start(logs, capture("refused-then-whole.pcap"));
    await session.waitFor(/not labelled: 127\.0\.0\.1:37258 → 127\.0\.0\.1:12345, #1–#2, refused/);
    await session.waitFor(/#3 sent by/);
  },
);

sessionTest("Kata 5 practice labels a whole conversation that carries no data", async (logs) => {
  await using session = await start(logs, capture("no-data.pcap"));
  await session.waitFor(/Labelling 127\.0\.0\.1:32828 → 127\.0\.0\.1:12345, #1–#6, whole, no data\./);
  await session.waitFor(/#1 sent by/);
});

Deno.test({
  name: `Kata 5 practice on the kit's capture: labelling practice, recorded as not the learner's${
    needs.suffix || (haveScript && canCapture ? "" : " [ignored: needs script, root, tcpdump and nc]")
  }`,
  ignore: needs.ignore || !haveScript || !canCapture,
  fn: () =>
    withTempDir("netkata-kata5-", async (logs) => {
      await using session = await start(logs, "");
      const [, client, clientIsn, server, serverIsn] = await session.waitFor(
        /Initial sequence numbers: (\S+) chose (\d+), (\S+) chose (\d+)\./,
      );
      assert.notEqual(client, server);
      const next = (isn: string) => String((Number(isn) + 1) % 2 ** 32);
      await answer(session, [
        [1, ["client", "SYN", "0", clientIsn, "-", "-"]],
        [2, ["server", "SYN ACK", "0", serverIsn, "1", next(clientIsn)]],
        [3, ["client", "ACK", "1", next(clientIsn), "1", next(serverIsn)]],
      ], (letters) => ({ "[P.]": "data", "[.]": "ack", "[F.]": "fin" })[letters] ?? "rst");
      await session.waitFor(/Every answer right/);
      await session.waitFor(/The kit made this capture: labelling practice, not counted/);
      await session.waitFor(/One mistake you made this time/);
      await session.type("\r");
      assert.equal(await session.exitCode(), 0);
      const [record] = await records(logs);
      assert.equal(record.result, "pass");
      assert.equal(record.capture, "kit");
      assert.equal(record.captureMs, undefined);
      assert.equal(record.core, false);
    }),
});

Deno.test("normalizeFlags() accepts flag names in any order and spelling, and tcpdump's letters", () => {
  for (const answer of ["syn ack", "ACK, SYN", "syn+ack", "SYN/ACK", "S.", "[S.]", "syn-ack"]) {
    assert.deepEqual(normalizeFlags(answer), ["ACK", "SYN"], answer);
  }
  assert.deepEqual(normalizeFlags("fin ack psh"), ["ACK", "FIN", "PSH"]);
  assert.deepEqual(normalizeFlags("ack"), ["ACK"]);
  assert.equal(normalizeFlags("hello"), undefined);
  assert.equal(normalizeFlags(""), undefined);
});

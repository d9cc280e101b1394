import assert from "node:assert/strict";
import { createAttempt } from "../lib/practice/attempt.ts";
import { formatClock, formatCountdown } from "../lib/practice/clock.ts";
import { appendAttempt, type AttemptRecord, readAttempts } from "../lib/practice/history.ts";
import type { PracticeKata } from "../lib/practice/kata.ts";
import { appendMistake, readMistakes } from "../lib/practice/mistakes.ts";
import { completionStandard, formatStatus, standingOf } from "../lib/practice/status.ts";
import { plain, requires, withTempDir } from "./_support.ts";

const files = requires("read", "write");

const KATA: PracticeKata = {
  number: 1,
  slug: "01-echo-threaded",
  title: "Echo",
  timeLimitMinutes: 30,
  repeatUntil: { text: "3 in a row", passesInARow: 3 },
};

function attempt(
  minute: number,
  result: "pass" | "fail",
  minutes: number,
  kata = 1,
): AttemptRecord {
  return {
    kata,
    started: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    durationMs: minutes * 60_000,
    result,
    failedStages: result === "pass" ? [] : ["x"],
  };
}

Deno.test("formatClock() and formatCountdown() show time left and time over", () => {
  assert.equal(formatClock(754_000), "12:34");
  assert.equal(formatClock(3_723_000), "1:02:03");
  assert.equal(formatCountdown(60_000, 30 * 60_000), "29:00 left");
  assert.equal(
    formatCountdown(31 * 60_000, 30 * 60_000),
    "1:00 over the limit",
  );
});

Deno.test("standingOf() counts the streak of passes within the limit from the latest attempt", () => {
  const history = [
    attempt(1, "pass", 10),
    attempt(2, "fail", 30),
    attempt(3, "pass", 20),
    attempt(4, "pass", 31), // over the limit: breaks the streak
    attempt(5, "pass", 25),
    attempt(6, "pass", 29),
    attempt(7, "pass", 5, 2), // another kata: ignored
  ];
  const standing = standingOf(KATA, history, 2);
  assert.equal(standing.attempts, 6);
  assert.equal(standing.passes, 5);
  assert.equal(standing.bestMs, 10 * 60_000);
  assert.equal(standing.streak, 2);
  assert.equal(standing.repeatUntilMet, false);
  assert.equal(
    standingOf(KATA, [...history, attempt(8, "pass", 12)], 0).repeatUntilMet,
    true,
  );
});

Deno.test("completionStandard() reads its items from the katas, one line per item however many katas share it", () => {
  const oneSitting = { text: "Katas 1 and 2 each in one sitting", needs: "pass within the limit" } as const;
  const standings = [
    standingOf({ ...KATA, completion: [oneSitting] }, [attempt(1, "pass", 10)], 1),
    standingOf({ ...KATA, number: 2, completion: [oneSitting] }, [], 0),
    standingOf(
      { ...KATA, number: 5, completion: [{ text: "Kata 5 labelled", needs: "pass" }] },
      [attempt(2, "pass", 45, 5)], // over the limit: a pass is all this item needs
      0,
    ),
  ];
  const items = completionStandard(standings);
  assert.deepEqual(items.map((item) => [item.text, item.met]), [
    ["Katas 1 and 2 each in one sitting", false],
    ["Kata 5 labelled", true],
    ["At least one mistake logged per kata", false],
  ]);
  assert.equal(items[0].detail, "Kata 1: passed in 10:00 on 2026-01-01 (limit 30:00), Kata 2: not yet");
  assert.equal(items[1].detail, "Kata 5: 1 passing attempt");
  assert.equal(items[2].detail, "Kata 1: 1 logged, Kata 2: none yet, Kata 5: none yet");
});

Deno.test({
  name: `appendAttempt() appends and readAttempts() skips damaged lines without losing others${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-practice-", async (dir) => {
      const path = `${dir}/attempts.jsonl`;
      assert.deepEqual(await readAttempts(path), {
        attempts: [],
        damagedLines: [],
      });
      await appendAttempt(path, attempt(1, "pass", 3));
      await Deno.writeTextFile(path, '{"kata": 1, "trunc\n', { append: true });
      await appendAttempt(path, attempt(2, "fail", 4));
      const history = await readAttempts(path);
      assert.deepEqual(history.attempts.map((a) => a.result), ["pass", "fail"]);
      assert.deepEqual(history.damagedLines, [2]);
    }),
});

Deno.test({
  name: `appendMistake() keeps a Markdown log that readMistakes() reads back${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-practice-", async (dir) => {
      const path = `${dir}/01.md`;
      await appendMistake(
        path,
        "Mistakes · Kata 1",
        "forgot  htons\n",
        new Date("2026-11-27T10:00:00Z"),
      );
      await appendMistake(path, "Mistakes · Kata 1", "blocked on slow client");
      const text = await Deno.readTextFile(path);
      assert.match(
        text,
        /^# Mistakes · Kata 1\n\n- 2026-11-27: forgot htons\n- \d{4}-\d\d-\d\d: blocked on slow client\n$/,
      );
      assert.deepEqual(await readMistakes(path), [
        "forgot htons",
        "blocked on slow client",
      ]);
      await assert.rejects(appendMistake(path, "x", "   "), /empty mistake/);
    }),
});

Deno.test({
  name: `createAttempt() numbers fresh attempts and never overwrites one${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-practice-", async (dir) => {
      const starter = `${dir}/starter.ts`;
      await Deno.writeTextFile(starter, "// TODO\n");
      const first = await createAttempt(`${dir}/attempts`, starter);
      await Deno.writeTextFile(first, "my work\n");
      const second = await createAttempt(`${dir}/attempts`, starter);
      assert.equal(first, `${dir}/attempts/attempt-001.ts`);
      assert.equal(second, `${dir}/attempts/attempt-002.ts`);
      assert.equal(await Deno.readTextFile(first), "my work\n");
      assert.equal(await Deno.readTextFile(second), "// TODO\n");
    }),
});

Deno.test("standingOf() counts towards the repeat-until only what the criterion times: a kit-made capture is practice, not the capture", () => {
  const kata: PracticeKata = {
    number: 5,
    slug: "05-tcp-handshake",
    title: "Capture and annotate a TCP handshake",
    timeLimitMinutes: 20,
    repeatUntil: { text: "3 runs in a row, each captured within two minutes", passesInARow: 3, withinMinutes: 2 },
  };
  const session = (day: number, extra: Partial<AttemptRecord>): AttemptRecord => ({
    kata: 5,
    started: `2026-11-0${day}T10:00:00Z`,
    durationMs: 6 * 60_000, // labelling takes longer than the capture: the whole session is not what is timed
    result: "pass",
    failedStages: [],
    ...extra,
  });
  const attempts = [
    session(1, { timedMs: 90_000 }),
    session(2, { timedMs: 100_000 }),
    session(3, { core: false }), // the kit's capture: labelling practice only
    session(4, { timedMs: 80_000 }),
  ];
  assert.equal(standingOf(kata, attempts, 0).streak, 3);
  const slow = [...attempts, session(5, { timedMs: 3 * 60_000 })];
  assert.equal(standingOf(kata, slow, 0).streak, 0, "a capture over two minutes ends the streak");
});

Deno.test("standingOf() keeps the stretch stages: one passed once is shown; the others are not yet", () => {
  const stretch = (c10k: "pass" | "fail" | "skip", slow: "pass" | "fail" | "skip") => [
    { name: "C10K", status: c10k },
    { name: "slowloris", status: slow },
  ];
  const history: AttemptRecord[] = [
    { ...attempt(1, "pass", 10), stretch: stretch("pass", "fail") },
    { ...attempt(2, "fail", 10), stretch: stretch("skip", "skip") },
    { ...attempt(3, "pass", 10), stretch: stretch("fail", "fail") },
  ];
  const standing = standingOf(KATA, history, 0);
  assert.deepEqual(standing.stretch, { passed: ["C10K"], notYet: ["slowloris"] });
  assert.equal(standingOf(KATA, [attempt(1, "pass", 10)], 0).stretch, undefined, "no stretch stage ever graded");
});

Deno.test("formatStatus() shows the stretch stages passed and names those not yet passed", () => {
  const history: AttemptRecord[] = [
    {
      ...attempt(1, "pass", 10),
      stretch: [{ name: "C10K", status: "pass" }, { name: "slowloris", status: "fail" }],
    },
  ];
  const standings = [standingOf(KATA, history, 0)];
  const text = plain(formatStatus(standings, completionStandard(standings)));
  assert.match(text, /stretch/);
  assert.match(text, /│?\s1\/2\s/);
  assert.match(text, /Stretch \(beyond the standard\)\n\s+Kata 1, Echo: 1 of 2 passed; not yet: slowloris/);
});

Deno.test({
  name: `readAttempts() keeps a record's stretch stages and skips a damaged stretch list${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-practice-", async (dir) => {
      const path = `${dir}/attempts.jsonl`;
      const good = { ...attempt(1, "pass", 3), stretch: [{ name: "C10K", status: "pass" }] };
      await Deno.writeTextFile(
        path,
        [good, { ...attempt(2, "pass", 3), stretch: "C10K" }, { ...attempt(3, "pass", 3), stretch: [{ name: 1 }] }]
          .map((record) => JSON.stringify(record)).join("\n") + "\n",
      );
      const history = await readAttempts(path);
      assert.deepEqual(history.attempts, [good]);
      assert.deepEqual(history.damagedLines, [2, 3]);
    }),
});

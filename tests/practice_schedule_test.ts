/**
 * What to practise next (spaced repetition), the history's tolerant reading
 * (stopped attempts, untimed passes, a `track`, continued attempts), the
 * mistake prompt's line editor and the diff shown after a pass.
 */

import assert from "node:assert/strict";
import { lineDiff } from "../lib/practice/diff.ts";
import { appendAttempt, type AttemptRecord, latestPerAttempt, readAttempts } from "../lib/practice/history.ts";
import { LineEditor } from "../lib/practice/line_editor.ts";
import type { PracticeKata } from "../lib/practice/kata.ts";
import { dueOf, INTERVALS_DAYS } from "../lib/practice/schedule.ts";
import { completionStandard, dueNow, formatStatus, standingOf, standingsOf } from "../lib/practice/status.ts";
import { requires, withTempDir } from "./_support.ts";

const files = requires("read", "write");
const DAY = 86_400_000;

const KATA: PracticeKata = {
  number: 1,
  slug: "01-echo-threaded",
  title: "Echo",
  timeLimitMinutes: 30,
  repeatUntil: { text: "3 in a row", passesInARow: 3 },
};

/** An attempt `day` days after 2026-01-01. */
function on(day: number, result: AttemptRecord["result"], minutes = 10, extra: Partial<AttemptRecord> = {}) {
  return {
    kata: 1,
    started: new Date(Date.UTC(2026, 0, 1 + day, 9)).toISOString(),
    durationMs: minutes * 60_000,
    result,
    failedStages: result === "pass" ? [] : ["x"],
    ...extra,
  } satisfies AttemptRecord;
}

const dayOf = (date: Date | undefined) => date && Math.round((date.getTime() - Date.UTC(2026, 0, 1, 9)) / DAY);

Deno.test("dueOf() brings a kata never tried back at once", () => {
  const due = dueOf(KATA, [], new Date(Date.UTC(2026, 0, 1)));
  assert.equal(due.isDue, true);
  assert.equal(due.reason, "never tried");
});

Deno.test("dueOf() spaces passes within the limit 1, 3, 7, 21 days apart, and a failure brings the kata back tomorrow", () => {
  assert.deepEqual(INTERVALS_DAYS, [1, 3, 7, 21]);
  const now = new Date(Date.UTC(2026, 0, 2));
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass")], now).at), 1);
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "pass")], now).at), 4);
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "pass"), on(4, "pass")], now).at), 11);
  const four = [on(0, "pass"), on(1, "pass"), on(4, "pass"), on(11, "pass")];
  assert.equal(dayOf(dueOf(KATA, four, now).at), 32);
  assert.equal(dayOf(dueOf(KATA, [...four, on(32, "pass")], now).at), 53, "21 days is the longest gap");
  // A failure: back tomorrow, and the ladder starts again.
  assert.equal(dayOf(dueOf(KATA, [...four, on(12, "fail")], now).at), 13);
  assert.equal(dayOf(dueOf(KATA, [...four, on(12, "fail"), on(13, "pass")], now).at), 14);
});

Deno.test("dueOf() does not count a stop; a pass over the limit brings the kata back tomorrow and starts the ladder again, an untimed one without climbing", () => {
  const now = new Date(Date.UTC(2026, 0, 2));
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "stopped")], now).at), 1, "a stop changes nothing");
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "pass", 45)], now).at), 2);
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "pass", 45), on(2, "pass")], now).at), 3, "not in a row");
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass"), on(1, "pass", 0, { untimed: true }), on(2, "pass")], now).at), 5);
  assert.equal(dayOf(dueOf(KATA, [on(0, "pass", 0, { untimed: true })], now).at), 1);
});

Deno.test("dueOf() counts a continued attempt from when it ended, not when it began", () => {
  const continued = on(0, "pass", 10, { ended: new Date(Date.UTC(2026, 0, 6, 9)).toISOString() });
  assert.equal(dayOf(dueOf(KATA, [continued], new Date(Date.UTC(2026, 0, 6))).at), 6);
});

Deno.test("dueOf() says whether the kata is due now, and why", () => {
  const history = [on(0, "pass"), on(1, "pass")]; // next on day 4
  const before = dueOf(KATA, history, new Date(Date.UTC(2026, 0, 4)));
  assert.equal(before.isDue, false);
  assert.match(before.reason, /passed within the limit 2 times in a row/);
  const after = dueOf(KATA, history, new Date(Date.UTC(2026, 0, 6)));
  assert.equal(after.isDue, true);
  assert.equal(dueOf(KATA, [on(0, "fail")], new Date(Date.UTC(2026, 0, 3))).reason, "failed last time");
});

Deno.test("standingOf() skips stopped attempts in the streak and counts them apart", () => {
  const standing = standingOf(KATA, [on(0, "pass"), on(1, "stopped"), on(2, "pass"), on(3, "pass")], 0);
  assert.equal(standing.attempts, 4);
  assert.equal(standing.stopped, 1);
  assert.equal(standing.streak, 3);
  assert.equal(standing.repeatUntilMet, true);
});

Deno.test("standingOf() does not let an untimed pass count as within the limit", () => {
  const standing = standingOf(KATA, [on(0, "pass", 0, { untimed: true })], 0);
  assert.equal(standing.passes, 1);
  assert.equal(standing.bestMs, undefined, "no clock ran: no best time");
  assert.equal(standing.streak, 0);
});

Deno.test("standingOf()'s streak and dueOf()'s passes in a row are one count: over the limit, outside the core, continued", () => {
  const KATA_5: PracticeKata = {
    ...KATA,
    number: 5,
    timeLimitMinutes: 20,
    repeatUntil: { text: "3 captures in a row, each under two minutes", passesInARow: 3, withinMinutes: 2 },
  };
  const capture = (day: number, extra: Partial<AttemptRecord>) => on(day, "pass", 6, { kata: 5, ...extra });
  const cases: [string, PracticeKata, AttemptRecord[], number][] = [
    ["a pass over the limit breaks the row", KATA, [on(0, "pass"), on(1, "pass", 45), on(2, "pass")], 1],
    ["a pass outside the core (the kit's capture) is not one of the row", KATA_5, [
      capture(0, { timedMs: 60_000 }),
      capture(1, { core: false }),
      capture(2, { timedMs: 60_000 }),
    ], 2],
    ["the criterion times the capture, against its own limit", KATA_5, [
      capture(0, { timedMs: 60_000 }),
      capture(1, { timedMs: 3 * 60_000 }), // 6 minutes in all, within 20; the capture took 3, over 2
      capture(2, { timedMs: 60_000 }),
    ], 1],
    ["a continued attempt stands where it ended", KATA, [
      on(0, "pass", 10, { ended: new Date(Date.UTC(2026, 0, 3, 9)).toISOString() }),
      on(1, "fail"),
    ], 1],
  ];
  const now = new Date(Date.UTC(2026, 0, 2));
  for (const [what, kata, history, inARow] of cases) {
    const standing = standingOf(kata, history, 0, { now });
    assert.equal(standing.streak, inARow, `${what}: the streak`);
    assert.match(standing.due.reason, inARow === 1 ? / once$/ : new RegExp(` ${inARow} times in a row$`), what);
    const last = history.map((attempt) => attempt.ended ?? attempt.started).sort().at(-1)!;
    assert.equal(standing.due.at?.getTime(), Date.parse(last) + INTERVALS_DAYS[inARow - 1] * DAY, `${what}: the gap`);
  }
});

Deno.test("standingsOf() groups a kata's attempts by track, the default track first", () => {
  const history = [on(0, "pass"), on(1, "pass", 10, { track: "syscalls" }), on(2, "fail", 10, { track: "syscalls" })];
  const standings = standingsOf(KATA, history, 1);
  assert.deepEqual(standings.map((s) => [s.track, s.attempts, s.passes]), [[undefined, 1, 1], ["syscalls", 2, 1]]);
  assert.equal(dayOf(standings[1].due.at), 3, "each track has its own schedule");
});

Deno.test("completionStandard() gives the evidence of each item: when and how fast it was met", () => {
  const oneSitting = { text: "Katas 1 and 2 each in one sitting", needs: "pass within the limit" } as const;
  const items = completionStandard([
    standingOf({ ...KATA, completion: [oneSitting] }, [on(0, "pass", 12), on(1, "fail")], 1),
    standingOf({ ...KATA, number: 2, completion: [oneSitting] }, [on(0, "pass", 50, { kata: 2 })], 0),
  ]);
  assert.equal(items[0].met, false);
  assert.equal(
    items[0].detail,
    "Kata 1: passed in 12:00 on 2026-01-01 (limit 30:00), Kata 2: not yet (best 50:00, limit 30:00)",
  );
  assert.equal(items[1].detail, "Kata 1: 1 logged, Kata 2: none yet");
});

Deno.test("latestPerAttempt() keeps the last record of a continued attempt", () => {
  const first = on(0, "stopped", 5, { file: "01-echo-threaded/attempt-001.ts" });
  const resumed = { ...first, result: "pass" as const, durationMs: 12 * 60_000, failedStages: [] };
  assert.deepEqual(latestPerAttempt([first, on(1, "pass"), resumed]), [on(1, "pass"), resumed]);
});

Deno.test({
  name: `readAttempts() reads stopped attempts, untimed passes and a track, and skips unknown results${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-history-", async (dir) => {
      const path = `${dir}/new/folder/attempts.jsonl`;
      await appendAttempt(path, on(0, "stopped"));
      await appendAttempt(path, on(1, "pass", 0, { untimed: true, track: "syscalls" }));
      await Deno.writeTextFile(path, JSON.stringify({ ...on(2, "pass"), result: "maybe" }) + "\n", { append: true });
      await Deno.writeTextFile(path, JSON.stringify({ ...on(3, "pass"), track: 7 }) + "\n", { append: true });
      const history = await readAttempts(path);
      assert.deepEqual(history.attempts.map((a) => [a.result, a.track, a.untimed]), [
        ["stopped", undefined, undefined],
        ["pass", "syscalls", true],
      ]);
      assert.deepEqual(history.damagedLines, [3, 4]);
    }),
});

Deno.test("LineEditor edits in code points: Backspace removes a whole Ä or 🙂, arrows move the cursor", () => {
  const editor = new LineEditor();
  const encode = (text: string) => new TextEncoder().encode(text);
  for (const byte of encode("abc")) editor.feed(byte);
  for (const byte of encode("\x1b[D\x1b[D")) editor.feed(byte);
  for (const byte of encode("Ä")) editor.feed(byte);
  assert.equal(editor.text, "aÄbc");
  for (const byte of encode("\x1b[C\x1b[C\x7f")) editor.feed(byte);
  assert.equal(editor.text, "aÄb");
  for (const byte of encode("🙂\x7f\x7f")) editor.feed(byte);
  assert.equal(editor.text, "aÄ");
  assert.equal(editor.feed(0x0d).done, "enter");
  assert.equal(new LineEditor().feed(0x03).done, "cancel");
});

Deno.test("lineDiff() shows only the changed lines with some context", () => {
  const before = ["a", "b", "c", "d", "e", "f", "g", "h"].join("\n");
  const after = ["a", "b", "c", "D", "e", "f", "g", "h", "i"].join("\n");
  assert.deepEqual(lineDiff(before, after, 1), [
    "@@ line 3 @@",
    "  c",
    "- d",
    "+ D",
    "  e",
    "@@ line 8 @@",
    "  h",
    "+ i",
  ]);
  assert.deepEqual(lineDiff("same\n", "same\n"), []);
});

Deno.test("formatStatus() names the kata to practise next: the longest overdue review first, then katas never tried", () => {
  const now = new Date(Date.UTC(2026, 0, 20));
  const standings = [
    ...standingsOf(KATA, [on(0, "pass"), on(10, "pass", 10, { track: "syscalls" })], 0, now),
    standingOf({ ...KATA, number: 2, title: "Loop" }, [], 0, { now }),
    standingOf({ ...KATA, number: 3, title: "Client" }, [on(18, "pass", 10, { kata: 3 })], 0, { now }),
  ];
  assert.deepEqual(dueNow(standings).map((s) => [s.kata.number, s.track]), [[1, undefined], [1, "syscalls"], [
    2,
    undefined,
  ]]);
  const text = formatStatus(standings, completionStandard(standings), now);
  assert.match(
    text,
    /^Practise next: Kata 1, Echo, due since 18 days \(passed within the limit once\): deno task kata:1\nAlso due: Kata 1 \(syscalls\), Kata 2$/m,
  );
  assert.match(text, /^3 +Client .* due 2026-01-20$/m);
});

/**
 * Kata 6's explanation rubric against sweeps as a real run makes them:
 * placeholder text fails, a paragraph from the data passes, and each wrong
 * paragraph fails on the criterion that names its mistake. The card's
 * description of the rubric is checked against the rubric itself.
 */

import assert from "node:assert/strict";
import {
  comparePredictions,
  measuredSweep,
  parseCrossover,
  parsePercentOfBaseline,
} from "../lib/kinds/experiment_practice.ts";
import { formatMeasurement } from "../lib/loss/report.ts";
import { CRITERIA, type Grade, gradeExplanation, KEYWORDS, MIN_WORDS } from "../lib/practice/explanation_rubric.ts";
import { requires } from "./_support.ts";
import { CROSSING_AT_10, GOOD_FOR_CROSSING, LOREM_IPSUM, NEVER_CROSSING } from "./fixtures/measured_sweeps.ts";

const grade = (text: string, sweep = CROSSING_AT_10) => gradeExplanation(text, measuredSweep(sweep));

/** The criteria not met, by name. */
const unmet = (result: Grade) => result.criteria.filter((criterion) => !criterion.met).map((c) => c.name);
const evidence = (result: Grade, name: string) =>
  result.criteria.find((criterion) => criterion.name === name)!.evidence;

Deno.test("gradeExplanation() fails thirty words of lorem ipsum on every criterion", () => {
  const result = grade(LOREM_IPSUM);
  assert.equal(result.passed, false);
  assert.deepEqual(unmet(result), Object.values(CRITERIA));
  assert.match(evidence(result, CRITERIA.paragraph), /never names TCP, UDP or loss/);
});

Deno.test("gradeExplanation() passes a paragraph that explains the run from its own numbers", () => {
  const result = grade(GOOD_FOR_CROSSING);
  assert.deepEqual(unmet(result), []);
  assert.equal(result.passed, true);
  assert.match(evidence(result, CRITERIA.numbers), /9\.41 Gbit\/s \(TCP goodput at 0%\)/);
  assert.match(evidence(result, CRITERIA.numbers), /9\.93% \(UDP loss measured at 10%\)/);
  assert.match(evidence(result, CRITERIA.crossover), /^TCP fell below UDP first at 10% \(38\.6 Mbit\/s against 90\.1/);
  assert.match(evidence(result, CRITERIA.better), /bulk transfer: bulk, file, transfer; goodput/);
  assert.match(evidence(result, CRITERIA.better), /real-time stream: real-time, stream, voice; deadline, on time/);
});

Deno.test("gradeExplanation() fails a wrong crossover on that criterion alone, and says where it was", () => {
  const wrong = GOOD_FOR_CROSSING
    .replace(
      "at 5% loss it fell to 212 Mbit/s and at 10% loss to 38.6 Mbit/s, where TCP falls below UDP",
      "at 5% loss TCP falls below UDP",
    )
    .replace("until about 10%", "at 1% loss, 1.2 Gbit/s");
  const result = grade(wrong);
  assert.equal(result.passed, false);
  assert.deepEqual(unmet(result), [CRITERIA.crossover]);
  assert.equal(
    evidence(result, CRITERIA.crossover),
    "TCP fell below UDP first at 10% (38.6 Mbit/s against 90.1 Mbit/s) and was above it at 5% " +
      "(212 Mbit/s against 95.1 Mbit/s); no sentence comparing TCP with UDP names 10% (yours name 5%)",
  );
});

Deno.test("gradeExplanation() does not take “never, not even at 10%” for naming the crossover at 10%", () => {
  const [first] = GOOD_FOR_CROSSING.split(/(?<=\.) /);
  const denied = GOOD_FOR_CROSSING.replace(
    first,
    "Without loss TCP moved 9.41 Gbit/s and at 10% loss still 38.6 Mbit/s, so TCP never falls below UDP, " +
      "not even at 10% where UDP delivered 90.1 Mbit/s while losing 9.93% of its datagrams.",
  );
  const result = grade(denied);
  assert.deepEqual(unmet(result), [CRITERIA.crossover]);
  assert.match(evidence(result, CRITERIA.crossover), /; yours says TCP never falls below UDP: “Without loss/);
  const turned = denied.replace("not even at 10%", "until 10%");
  assert.deepEqual(unmet(grade(turned)), []);
});

Deno.test("gradeExplanation() asks for “TCP stays above” when TCP never fell below UDP", () => {
  const stays =
    "At 10% loss TCP still moved 314 Mbit/s against 90.1 Mbit/s for UDP, so TCP never falls below UDP here, " +
    "even though UDP lost 9.91% of its datagrams. For a bulk file download better means goodput; for a live voice " +
    "call it means arriving on time, and UDP delivered 90.0% on time against 88.7% for TCP.";
  const passed = grade(stays, NEVER_CROSSING);
  assert.deepEqual(unmet(passed), []);
  assert.match(evidence(passed, CRITERIA.crossover), /^TCP stayed above UDP at every level/);

  const claimed = stays.replace("so TCP never falls below UDP here", "so TCP falls below UDP at 10%");
  const failed = grade(claimed, NEVER_CROSSING);
  assert.deepEqual(unmet(failed), [CRITERIA.crossover]);
  assert.match(
    evidence(failed, CRITERIA.crossover),
    /^TCP stayed above UDP at every level \(314 Mbit\/s against 90\.1 Mbit\/s at 10%\); no sentence says so/,
  );
});

Deno.test("gradeExplanation() counts numbers of this run's table as printed or rounded, not settings or other figures", async (t) => {
  const sentence = (numbers: string) =>
    `${numbers} ${GOOD_FOR_CROSSING.replace(/\d[\d.,]*\s*(Gbit\/s|Mbit\/s|%)/g, "X").replaceAll(" X", " some")}`;
  const numbers = (text: string) => grade(sentence(text));

  await t.step("the loss levels asked for are settings: 0%, 1%, 5% and 10% alone cite nothing measured", () => {
    const result = numbers("We set 0%, 1%, 5% and 10% loss.");
    assert.ok(unmet(result).includes(CRITERIA.numbers));
    assert.match(evidence(result, CRITERIA.numbers), /the loss levels you set \(0%, 1%, 5%, 10%\) are settings/);
  });
  await t.step("rounded figures count; a figure that is nowhere in the table does not", () => {
    const result = numbers("TCP gave 9.4 Gbit/s, then 39 Mbit/s, and never 500 Mbit/s.");
    assert.ok(!unmet(result).includes(CRITERIA.numbers), evidence(result, CRITERIA.numbers));
    assert.match(evidence(result, CRITERIA.numbers), /500 Mbit\/s is not in this run's table/);
  });
  await t.step("other units of the same rate count: 9,410 Mbit/s and 0.0386 Gbps", () => {
    const result = numbers("TCP gave 9,410 Mbit/s, then 0.0386 Gbps.");
    assert.ok(!unmet(result).includes(CRITERIA.numbers), evidence(result, CRITERIA.numbers));
  });
  await t.step("bytes are not bits: 38.6 MB/s is not the table's 38.6 Mbit/s", () => {
    const result = numbers("TCP gave 38.6 MB/s and then 9.41 Gbit/s.");
    assert.ok(unmet(result).includes(CRITERIA.numbers));
    assert.match(evidence(result, CRITERIA.numbers), /38\.6 MB\/s is in bytes: the table shows bits/);
  });
  await t.step("one figure cited twice is one figure", () => {
    const result = numbers("TCP gave 9.41 Gbit/s, yes 9.41 Gbit/s.");
    assert.ok(unmet(result).includes(CRITERIA.numbers));
  });
  await t.step("the real-time table's figures count: on-time shares and p99 latencies", () => {
    const result = numbers("On time: 84.7% over TCP, p99 431.5 ms.");
    assert.ok(!unmet(result).includes(CRITERIA.numbers), evidence(result, CRITERIA.numbers));
  });
});

Deno.test("gradeExplanation() wants both sides of “better”: bulk transfer and real-time stream", () => {
  const bulkOnly = GOOD_FOR_CROSSING.replace(
    /For a real-time voice stream.*$/,
    "UDP is simply worse for everything because it loses packets.",
  );
  const result = grade(bulkOnly);
  assert.deepEqual(unmet(result), [CRITERIA.better]);
  assert.match(evidence(result, CRITERIA.better), /no real-time stream \(real-time, live, stream, voice/);
  assert.match(evidence(result, CRITERIA.better), /no measure of a real-time stream \(deadline, on time, late/);
});

Deno.test("gradeExplanation() wants one paragraph of at least the minimum words", () => {
  const two = GOOD_FOR_CROSSING.replace(" For a bulk", "\n\nFor a bulk");
  assert.deepEqual(unmet(grade(two)), [CRITERIA.paragraph]);
  assert.match(evidence(grade(two), CRITERIA.paragraph), /2 paragraphs/);
  const short = "TCP fell below UDP at 10% loss: 38.6 Mbit/s against 90.1 Mbit/s.";
  assert.ok(unmet(grade(short)).includes(CRITERIA.paragraph));
  assert.match(evidence(grade(short), CRITERIA.paragraph), new RegExp(`^12 words \\(at least ${MIN_WORDS}\\)`));
});

Deno.test("measuredSweep() lists the figures as the table prints them, and none for runs that all failed", () => {
  const printed = measuredSweep(CROSSING_AT_10).figures.map((figure) => figure.printed);
  const expected = ["9.4 Gbit/s", "9.2 Gbit/s", "38.6 Mbit/s", "100 Mbit/s", "4.87%", "84.7%", "431.5 ms", "812.4 ms"];
  for (const figure of [...expected, "1630.2 ms", "96.3 ms", "180.7 ms"]) {
    assert.ok(printed.includes(figure), `${figure} missing from ${printed.join(", ")}`);
  }
  assert.ok(!printed.includes("10%"), "a loss level asked for is not a measurement");
  const failed = structuredClone(CROSSING_AT_10);
  failed.levels[3].tcp.goodput = { median: NaN, min: NaN, max: NaN };
  const measured = measuredSweep(failed);
  assert.ok(measured.figures.every((figure) => Number.isFinite(figure.value)));
  assert.ok(Number.isNaN(measured.levels[3].tcp.bps));
  assert.equal(measured.udpRate, 100e6);
});

Deno.test("parsePercentOfBaseline() and parseCrossover() read a learner's predictions", () => {
  assert.equal(parsePercentOfBaseline("50"), 50);
  assert.equal(parsePercentOfBaseline(" 12.5 % "), 12.5);
  assert.equal(parsePercentOfBaseline(""), undefined);
  assert.equal(parsePercentOfBaseline("half"), undefined);
  assert.equal(parsePercentOfBaseline("-3"), undefined);
  assert.equal(parseCrossover("5"), 5);
  assert.equal(parseCrossover("7.5%"), 7.5);
  assert.equal(parseCrossover("never"), null);
  assert.equal(parseCrossover("Never"), null);
  assert.equal(parseCrossover(""), undefined);
  assert.equal(parseCrossover("101"), undefined);
});

Deno.test("comparePredictions() sets each guess beside the data", () => {
  const text = comparePredictions(
    { baseline: 0, tcp: [{ loss: 1, percent: 50 }, { loss: 5, percent: 10 }, { loss: 10, percent: 1 }], crossover: 5 },
    measuredSweep(CROSSING_AT_10),
  );
  // TCP at 1 %: 1.2 / 9.41 = 12.8 % of its goodput without loss.
  assert.match(text, /^1% +50% +12\.8% +1\.2 Gbit\/s$/m);
  assert.match(text, /^10% +1% +0\.4% +38\.6 Mbit\/s$/m);
  assert.match(text, /Crossover: you said 5%; TCP fell below UDP first at 10% \(it was above at 5%\): off\./);
  const never = comparePredictions({ baseline: 0, tcp: [], crossover: null }, measuredSweep(NEVER_CROSSING));
  assert.match(never, /Crossover: you said never; TCP stayed above UDP at every level measured: right\./);
});

const reads = requires("read");

Deno.test({
  name: `the card says how an explanation is graded, with every criterion and keyword${reads.suffix}`,
  ignore: reads.ignore,
  fn: async () => {
    const card = await Deno.readTextFile(new URL("../katas/06-tcp-vs-udp/KATA.md", import.meta.url));
    const [, section] = card.split("## How your explanation is graded\n");
    assert.ok(section, "no section “How your explanation is graded”");
    for (const name of Object.values(CRITERIA)) {
      assert.ok(section.includes(name), `criterion “${name}” not on the card`);
    }
    for (const [family, words] of Object.entries(KEYWORDS)) {
      for (const word of words) assert.ok(section.includes(`“${word}”`), `${family} word “${word}” not on the card`);
    }
    assert.ok(section.includes(`${MIN_WORDS} words`));
  },
});

Deno.test("formatMeasurement() shows every workload's table, as run and practice print them, and keeps the crossover back", () => {
  const text = formatMeasurement(CROSSING_AT_10);
  assert.match(text, /TCP goodput/);
  assert.match(text, /Real-time stream: /);
  assert.match(text, /Request\/response: 10240 bytes per answer/);
  assert.match(text, /10% +812\.4 ms .*96\.3 ms/);
  assert.doesNotMatch(text, /From the data/, "where it crosses is for the learner to read off first");
});

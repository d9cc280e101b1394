/**
 * The rubric for Kata 6's one-paragraph explanation, graded against the
 * learner's own sweep. Four criteria a learner can read on the card (the
 * names and keyword lists below are what the card quotes): the paragraph
 * cites numbers of this run, names where TCP's goodput falls below UDP's,
 * says what "better" means for a bulk transfer and for a real-time stream,
 * and is one paragraph about this experiment.
 *
 * It reads English with keyword families and patterns, not understanding:
 * it cannot tell a good explanation from a bad one, only one that engages
 * with the data from one that does not. Each criterion says what it found,
 * so that a learner who disagrees can see why.
 *
 * @module
 */

/** A figure of the run as the tables print it. */
export interface Figure {
  /** In bit/s for rates, per cent for "%", milliseconds for "ms". */
  value: number;
  unit: "bit/s" | "%" | "ms";
  /** As printed: "38.6 Mbit/s", "4.87%". */
  printed: string;
  /** What it measures: "TCP goodput at 10%". */
  what: string;
}

/** One loss level's medians, for the crossover. */
export interface MeasuredLevel {
  /** The loss asked for, per cent. */
  loss: number;
  /** Median goodput in bit/s (NaN where every run failed), and as printed. */
  tcp: { bps: number; printed: string };
  udp: { bps: number; printed: string };
}

/** What the rubric needs of a sweep. */
export interface MeasuredSweep {
  levels: MeasuredLevel[];
  /** Every measured number the run's tables show: medians, ranges, shares, latencies. */
  figures: Figure[];
  /** The UDP sending rate in bit/s, where known. */
  udpRate?: number;
}

/** One criterion, judged. */
export interface Criterion {
  name: string;
  met: boolean;
  /** What was found, in a sentence the learner can check against the paragraph. */
  evidence: string;
}

/** The rubric's verdict: passed when every criterion is met. */
export interface Grade {
  passed: boolean;
  criteria: Criterion[];
}

/** The criteria, by the names the card and the session show. */
export const CRITERIA = {
  numbers: "cites two numbers from this run's table",
  crossover: "names where TCP's goodput falls below UDP's",
  better: "says what “better” means for a bulk transfer and for a real-time stream",
  paragraph: "one paragraph about this experiment",
} as const;

/** The fewest words an explanation may have. */
export const MIN_WORDS = 30;

/** How many different figures of the run the paragraph must cite. */
const MIN_FIGURES = 2;

/**
 * The keyword families of the "better" criterion. A keyword matches a word
 * that starts with it ("transfer" matches "transfers"); a space or hyphen in
 * it matches either ("on time", "on-time").
 */
export const KEYWORDS = {
  bulkTransfer: ["bulk", "file", "download", "upload", "transfer", "backup", "copy"],
  bulkMeasure: [
    "goodput",
    "throughput",
    "complete",
    "completion",
    "finish",
    "every byte",
    "all the data",
    "reliable",
    "reliability",
    "retransmit",
    "retransmission",
  ],
  realtimeStream: ["real-time", "live", "stream", "voice", "video", "call", "game", "gaming", "audio"],
  realtimeMeasure: ["deadline", "on time", "late", "latency", "delay", "jitter", "p99", "in time", "timely"],
} as const;

const FAMILY_NAMES: Record<keyof typeof KEYWORDS, string> = {
  bulkTransfer: "bulk transfer",
  bulkMeasure: "measure of a bulk transfer",
  realtimeStream: "real-time stream",
  realtimeMeasure: "measure of a real-time stream",
};

/**
 * Grades `text` against the sweep it explains.
 *
 * @example
 * ```ts ignore
 * import { gradeExplanation } from "./explanation_rubric.ts";
 * const grade = gradeExplanation(paragraph, measuredSweep(result));
 * for (const { name, met, evidence } of grade.criteria) console.log(met ? "✓" : "✗", name, evidence);
 * ```
 */
export function gradeExplanation(text: string, sweep: MeasuredSweep): Grade {
  const criteria = [
    citesNumbers(text, sweep),
    namesCrossover(text, sweep),
    saysWhatBetterMeans(text),
    isOneParagraph(text),
  ];
  return { passed: criteria.every((criterion) => criterion.met), criteria };
}

/** A number with its unit, as written in the paragraph. */
interface Cited {
  written: string;
  value: number;
  /** Digits after the decimal point: the precision the learner rounded to. */
  decimals: number;
  unit: Figure["unit"] | "bytes";
  /** The unit's size: 1e6 for Mbit/s. */
  scale: number;
}

const RATE_SCALES: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9 };

/**
 * Numbers followed by a unit: rates in bits ("38.6 Mbit/s", "9.4Gbps",
 * "1,220 Mb/s"), rates in bytes ("38.6 MB/s", caught to say so), per cents
 * and milliseconds. A lower-case "b" is a bit, an upper-case "B" a byte.
 */
const NUMBER_WITH_UNIT =
  /(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(?:([kKmMgG]?)(?:bit\/s|bits\/s|bps|b\/s|bits? per second)|([kKmMgG])(?:B\/s|Bps|bytes? per second)|(%|per ?cent)|(ms|milliseconds?))(?![\w])/g;

/** Every number with a unit in `text`. */
function citedNumbers(text: string): Cited[] {
  return [...text.matchAll(NUMBER_WITH_UNIT)].map((match) => {
    const [written, whole, fraction = "", bitPrefix, bytePrefix, percent] = match;
    const value = Number(whole.replaceAll(",", "") + fraction);
    const decimals = Math.max(0, fraction.length - 1);
    if (bitPrefix !== undefined) {
      return { written, value, decimals, unit: "bit/s", scale: RATE_SCALES[bitPrefix.toLowerCase()] };
    }
    if (bytePrefix !== undefined) return { written, value, decimals, unit: "bytes", scale: 1 };
    return { written, value, decimals, unit: percent ? "%" : "ms", scale: 1 };
  });
}

/**
 * Whether `cited` is `figure` as printed or rounded further: the figure,
 * rounded to the learner's precision, is the learner's number, and within
 * 5 % of it (so that "0 Gbit/s" does not cite 26 Mbit/s).
 */
function citesFigure(cited: Cited, figure: Figure): boolean {
  if (cited.unit !== figure.unit) return false;
  const inUnit = figure.value / cited.scale;
  const halfStep = 0.5 * 10 ** -cited.decimals;
  if (Math.abs(inUnit - cited.value) > halfStep * (1 + 1e-9)) return false;
  return inUnit === 0 ? cited.value === 0 : Math.abs(inUnit - cited.value) <= 0.05 * Math.abs(inUnit);
}

function citesNumbers(text: string, sweep: MeasuredSweep): Criterion {
  const levels = new Set(sweep.levels.map((level) => level.loss));
  const found: string[] = [];
  const settings: string[] = [];
  const notes: string[] = [];
  const seen = new Set<Figure>();
  for (const cited of citedNumbers(text)) {
    if (cited.unit === "bytes") {
      notes.push(`${cited.written} is in bytes: the table shows bits`);
      continue;
    }
    // "10%" where 10 % was asked for is the setting, not a measurement.
    if (cited.unit === "%" && levels.has(cited.value)) {
      if (!settings.includes(`${cited.value}%`)) settings.push(`${cited.value}%`);
      continue;
    }
    const figure = sweep.figures.find((figure) => citesFigure(cited, figure));
    if (!figure) notes.push(`${cited.written} is not in this run's table`);
    else if (!seen.has(figure)) {
      seen.add(figure);
      found.push(`${cited.written} (${figure.what})`);
    }
  }
  const met = found.length >= MIN_FIGURES;
  if (!met && settings.length > 0) {
    notes.push(`the loss levels you set (${settings.join(", ")}) are settings, not measurements`);
  }
  const cites = found.length === 0 ? "cites none of this run's figures" : `cites ${found.join(", ")}`;
  const needed = met ? "" : ` (${MIN_FIGURES} needed, with their units as the table shows them)`;
  return {
    name: CRITERIA.numbers,
    met,
    evidence: [`${cites}${needed}`, ...notes].join("; "),
  };
}

/** Sentences: split after ".", "!", "?" or ";" followed by a space, and at line breaks. */
function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.!?;])\s+|\n+/).map((sentence) => sentence.trim()).filter(Boolean);
}

/** Loss levels a sentence names, of those asked for: "5%", "5 %", "5 per cent". */
function levelsNamed(sentence: string, levels: readonly number[]): number[] {
  const named = [...sentence.matchAll(/(?<![\w.,])(\d+(?:\.\d+)?)\s*(?:%|per ?cent)/g)].map((m) => Number(m[1]));
  return levels.filter((level) => named.includes(level));
}

const COMPARING =
  /\b(below|under|beneath|above|over|less|lower|slower|behind|more|higher|faster|ahead|overtak\w*|cross\w*|beats?|exceed\w*|surpass\w*|outperform\w*|better|worse|falls?|fell|drops?)\b/i;
const NEGATION = /\b(never|not|no|nowhere|n't)\b|n't\b/i;
const PERSISTING =
  /\b(never|always|stays?|stayed|remains?|remained|every|throughout|at all)\b|\bno cross|n't\b|\bnot\b/i;
/** Words that turn a "never" into "not until": "TCP never falls below UDP until 10%". */
const TURNING = /\b(until|till|but|except|before|once|then|after|beyond)\b/i;
const FALLING = /\b(below|under|beneath|behind|less than|lower than|slower than)\b/i;

/** Sentences that compare TCP with UDP: both named, and a word of comparison. */
function comparing(text: string): string[] {
  return sentencesOf(text).filter((sentence) =>
    /\btcp\b/i.test(sentence) && /\budp\b/i.test(sentence) && COMPARING.test(sentence)
  );
}

const quote = (sentence: string) => `“${sentence.length > 120 ? `${sentence.slice(0, 117)}…` : sentence}”`;

function namesCrossover(text: string, sweep: MeasuredSweep): Criterion {
  const levels = sweep.levels.filter((level) => Number.isFinite(level.tcp.bps) && Number.isFinite(level.udp.bps))
    .sort((a, b) => a.loss - b.loss);
  const name = CRITERIA.crossover;
  if (levels.length === 0) {
    return { name, met: false, evidence: "no loss level has both a TCP and a UDP figure: measure again" };
  }
  const sentences = comparing(text);
  const losses = levels.map((level) => level.loss);
  const below = levels.findIndex((level) => level.tcp.bps < level.udp.bps);
  if (below === -1) {
    const last = levels.at(-1)!;
    const fact =
      `TCP stayed above UDP at every level (${last.tcp.printed} against ${last.udp.printed} at ${last.loss}%)`;
    const claims = sentences.filter((s) => FALLING.test(s) && !NEGATION.test(s) && levelsNamed(s, losses).length);
    const says = sentences.find((s) => PERSISTING.test(s));
    if (says && claims.length === 0) return { name, met: true, evidence: `${fact}, and you say so: ${quote(says)}` };
    const claim = claims.length ? ` (yours says it falls below at ${levelsNamed(claims[0], losses)[0]}%)` : "";
    return { name, met: false, evidence: `${fact}; no sentence says so${claim}` };
  }
  const first = levels[below];
  const before = levels[below - 1];
  const fact = `TCP fell below UDP first at ${first.loss}% (${first.tcp.printed} against ${first.udp.printed})` +
    (before ? ` and was above it at ${before.loss}% (${before.tcp.printed} against ${before.udp.printed})` : "");
  const naming = sentences.filter((sentence) => levelsNamed(sentence, losses).includes(first.loss));
  // "TCP never falls below UDP, not even at 10%" names the level to deny the crossing.
  const denies = (sentence: string) => /\bnever\b/i.test(sentence) && !TURNING.test(sentence);
  const says = naming.find((sentence) => !denies(sentence));
  if (says) return { name, met: true, evidence: `${fact}, and you say so: ${quote(says)}` };
  if (naming.length > 0) {
    return { name, met: false, evidence: `${fact}; yours says TCP never falls below UDP: ${quote(naming[0])}` };
  }
  const named = [...new Set(sentences.flatMap((sentence) => levelsNamed(sentence, losses)))];
  const yours = named.length ? ` (yours name ${named.map((loss) => `${loss}%`).join(", ")})` : "";
  return { name, met: false, evidence: `${fact}; no sentence comparing TCP with UDP names ${first.loss}%${yours}` };
}

/** The keywords of `words` that `text` uses. */
function keywordsIn(text: string, words: readonly string[]): string[] {
  return words.filter((word) => {
    const pattern = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/[- ]/g, "[- ]?");
    return new RegExp(`(?<![\\w-])${pattern}`, "i").test(text);
  });
}

function saysWhatBetterMeans(text: string): Criterion {
  const found = Object.fromEntries(
    Object.entries(KEYWORDS).map(([family, words]) => [family, keywordsIn(text, words)]),
  ) as Record<keyof typeof KEYWORDS, string[]>;
  const missing = (Object.keys(KEYWORDS) as (keyof typeof KEYWORDS)[]).filter((family) => !found[family].length);
  if (missing.length > 0) {
    return {
      name: CRITERIA.better,
      met: false,
      evidence: missing.map((family) => `no ${FAMILY_NAMES[family]} (${KEYWORDS[family].join(", ")})`).join("; "),
    };
  }
  return {
    name: CRITERIA.better,
    met: true,
    evidence: `bulk transfer: ${found.bulkTransfer.join(", ")}; ${found.bulkMeasure.join(", ")} · ` +
      `real-time stream: ${found.realtimeStream.join(", ")}; ${found.realtimeMeasure.join(", ")}`,
  };
}

function isOneParagraph(text: string): Criterion {
  const trimmed = text.trim();
  const words = trimmed.split(/\s+/).filter(Boolean).length;
  const paragraphs = trimmed === "" ? 0 : trimmed.split(/\n\s*\n/).length;
  const topic = ["TCP", "UDP", "loss"].filter((word) =>
    new RegExp(word === "loss" ? "\\b(loss|lost|los[ei]ng|drop\\w*)\\b" : `\\b${word}\\b`, "i").test(trimmed)
  );
  const problems = [
    words < MIN_WORDS ? `${words} words (at least ${MIN_WORDS})` : "",
    paragraphs > 1 ? `${paragraphs} paragraphs (one, please)` : "",
    topic.length === 0
      ? "it never names TCP, UDP or loss: this reads like placeholder text"
      : topic.length < 3
      ? `it never names ${["TCP", "UDP", "loss"].filter((word) => !topic.includes(word)).join(" or ")}`
      : "",
  ].filter(Boolean);
  return {
    name: CRITERIA.paragraph,
    met: problems.length === 0,
    evidence: problems.length === 0 ? `${words} words in one paragraph, about TCP, UDP and loss` : problems.join("; "),
  };
}

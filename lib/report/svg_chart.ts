/**
 * A line chart as a standalone SVG file: no library, opens in any browser.
 * The y axis can be logarithmic, which goodput under loss needs (it spans
 * several powers of ten), and then says so on the axis. A chart tells the
 * truth about its data: every point can carry its min–max bar (the spread
 * of repeated runs), a model is drawn dashed and named as a model, and a
 * reference level (an offered rate) is a labelled horizontal line.
 *
 * @module
 */

/** One line on the chart. */
export interface Series {
  name: string;
  points: [x: number, y: number][];
  color: string;
  dashed?: boolean;
  /** A model, not a measurement: drawn dashed, without dots, "(model)" in the legend. */
  model?: boolean;
  /** Min–max bars: for each x, the smallest and largest value measured. */
  ranges?: [x: number, min: number, max: number][];
}

/** A horizontal line at a level of note, such as the rate UDP was offered. */
export interface Reference {
  y: number;
  label: string;
  color: string;
}

/** What to draw. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  references?: Reference[];
  /** Logarithmic y axis. @default {true} */
  logY?: boolean;
  /** Formats a y value for the axis, e.g. bits/s as "10 Mbit/s". */
  formatY?: (value: number) => string;
  /** Small print under the chart, up to two lines ("\n" between): what the bars are, where the data came from. */
  note?: string;
}

const WIDTH = 760;
const HEIGHT = 460;
const MARGIN = { left: 90, right: 210, top: 50, bottom: 78 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The axes' ranges and the functions from data to pixels. */
interface Scale {
  xs: number[];
  yTicks: number[];
  sx: (x: number) => number;
  sy: (y: number) => number;
  logY: boolean;
}

function scaleFor(options: ChartOptions): Scale {
  const logY = options.logY ?? true;
  const values = [
    ...options.series.flatMap((
      s,
    ) => [...s.points.map(([, y]) => y), ...(s.ranges ?? []).flatMap(([, a, b]) => [a, b])]),
    ...(options.references ?? []).map((r) => r.y),
  ].filter((y) => Number.isFinite(y) && (!logY || y > 0));
  const xs = options.series.flatMap((s) => s.points.map(([x]) => x));
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  let yMin = logY ? 10 ** Math.floor(Math.log10(Math.min(...values))) : 0;
  let yMax = logY ? 10 ** Math.ceil(Math.log10(Math.max(...values))) : Math.max(...values) * 1.1;
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax) || yMin === yMax) {
    yMin = logY ? 1 : 0;
    yMax = logY ? 10 : 1;
  }
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin || 1)) * PLOT_W;
  const fraction = (y: number) =>
    logY ? (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : (y - yMin) / (yMax - yMin);
  const sy = (y: number) => MARGIN.top + PLOT_H - fraction(y) * PLOT_H;
  // Y grid: every power of ten on a log axis, five steps on a linear one.
  const yTicks: number[] = [];
  if (logY) { for (let v = yMin; v <= yMax * 1.0001; v *= 10) yTicks.push(v); }
  else for (let i = 0; i <= 5; i++) yTicks.push(yMin + ((yMax - yMin) * i) / 5);
  return { xs: [...new Set(xs)].sort((a, b) => a - b), yTicks, sx, sy, logY };
}

function axes(options: ChartOptions, scale: Scale): string[] {
  const formatY = options.formatY ?? ((value: number) => String(value));
  const { sx, sy } = scale;
  const parts: string[] = [];
  for (const v of scale.yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${sy(v) + 4}" text-anchor="end">${escape(formatY(v))}</text>`,
    );
  }
  for (const x of scale.xs) {
    parts.push(
      `<line x1="${sx(x)}" x2="${sx(x)}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#eee"/>`,
      `<text x="${sx(x)}" y="${MARGIN.top + PLOT_H + 18}" text-anchor="middle">${x}</text>`,
    );
  }
  const yLabel = scale.logY ? `${options.yLabel} (logarithmic scale)` : options.yLabel;
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${MARGIN.top + PLOT_H + 36}" text-anchor="middle">${
      escape(options.xLabel)
    }</text>`,
    `<text transform="translate(20 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${
      escape(yLabel)
    }</text>`,
  );
  const notes = options.note?.split("\n").slice(0, 2) ?? [];
  notes.forEach((line, i) => {
    const y = HEIGHT - 8 - (notes.length - 1 - i) * 13;
    parts.push(`<text x="${MARGIN.left}" y="${y}" font-size="10" fill="#555">${escape(line)}</text>`);
  });
  return parts;
}

function seriesParts(series: Series, scale: Scale, index: number): string[] {
  const { sx, sy, logY } = scale;
  const visible = (y: number) => Number.isFinite(y) && (!logY || y > 0);
  const dashed = series.dashed || series.model ? ' stroke-dasharray="6 4"' : "";
  const parts: string[] = [];
  const points = series.points.filter(([, y]) => visible(y));
  if (points.length > 0) {
    const path = points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dashed}/>`);
    if (!series.model) {
      parts.push(
        ...points.map(([x, y]) =>
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${series.color}"/>`
        ),
      );
    }
  }
  for (const [x, min, max] of (series.ranges ?? []).filter(([, a, b]) => visible(a) && visible(b))) {
    const [cx, top, bottom] = [sx(x), sy(max), sy(min)];
    parts.push(
      `<path class="range" d="M${cx.toFixed(1)} ${top.toFixed(1)} V${bottom.toFixed(1)} M${(cx - 4).toFixed(1)} ${
        top.toFixed(1)
      } h8 M${(cx - 4).toFixed(1)} ${bottom.toFixed(1)} h8" stroke="${series.color}" stroke-width="1.2"/>`,
    );
  }
  const ly = MARGIN.top + 10 + index * 20;
  const lx = MARGIN.left + PLOT_W + 16;
  parts.push(
    `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="2"${dashed}/>`,
    `<text x="${lx + 30}" y="${ly + 4}">${escape(series.model ? `${series.name} (model)` : series.name)}</text>`,
  );
  return parts;
}

function referenceParts(reference: Reference, scale: Scale): string[] {
  const y = scale.sy(reference.y);
  if (!Number.isFinite(y) || (scale.logY && reference.y <= 0)) return [];
  return [
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y.toFixed(1)}" y2="${
      y.toFixed(1)
    }" stroke="${reference.color}" stroke-width="1" stroke-dasharray="2 3"/>`,
    // Under the line near the top of the plot, above it elsewhere.
    `<text x="${MARGIN.left + 4}" y="${
      (y < MARGIN.top + 20 ? y + 13 : y - 4).toFixed(1)
    }" font-size="11" fill="${reference.color}">${escape(reference.label)}</text>`,
  ];
}

/**
 * Renders the chart; points with y ≤ 0 cannot sit on a log axis and are left out.
 *
 * @example
 * ```ts
 * import { lineChart } from "./svg_chart.ts";
 * const svg = lineChart({
 *   title: "Goodput",
 *   xLabel: "loss (%)",
 *   yLabel: "bit/s",
 *   series: [{ name: "TCP", color: "#1f77b4", points: [[0, 9e7], [1, 3e6]], ranges: [[0, 8e7, 9.5e7], [1, 2e6, 4e6]] }],
 *   references: [{ y: 9e7, label: "UDP offered 90 Mbit/s", color: "#d62728" }],
 * });
 * ```
 */
export function lineChart(options: ChartOptions): string {
  const scale = scaleFor(options);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
    ...axes(options, scale),
    ...(options.references ?? []).flatMap((reference) => referenceParts(reference, scale)),
    ...options.series.flatMap((series, i) => seriesParts(series, scale, i)),
    "</svg>",
  ].join("\n");
}

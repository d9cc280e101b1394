/**
 * A line chart as a standalone SVG file: no library, opens in any browser.
 * The y axis can be logarithmic, which goodput under loss needs (it spans
 * several powers of ten).
 *
 * @module
 */

/** One line on the chart. */
export interface Series {
  name: string;
  points: [x: number, y: number][];
  color: string;
  dashed?: boolean;
}

/** What to draw. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Logarithmic y axis. @default {true} */
  logY?: boolean;
  /** Formats a y value for the axis, e.g. bits/s as "10 Mbit/s". */
  formatY?: (value: number) => string;
}

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 90, right: 170, top: 50, bottom: 60 };

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Renders the chart; points with y ≤ 0 cannot sit on a log axis and are left out. */
export function lineChart(options: ChartOptions): string {
  const logY = options.logY ?? true;
  const points = options.series.flatMap((s) => s.points).filter(([, y]) => !logY || y > 0);
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  let yMin = logY ? 10 ** Math.floor(Math.log10(Math.min(...ys))) : 0;
  let yMax = logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.1;
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax) || yMin === yMax) {
    yMin = logY ? 1 : 0;
    yMax = logY ? 10 : 1;
  }
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number) =>
    MARGIN.top + plotH -
    (logY
        ? (Math.log10(y) - Math.log10(yMin)) /
          (Math.log10(yMax) - Math.log10(yMin))
        : (y - yMin) / (yMax - yMin)) *
      plotH;
  const formatY = options.formatY ?? ((value: number) => String(value));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
  );
  // Y grid: every power of ten on a log axis, five steps on a linear one.
  const yTicks: number[] = [];
  if (logY) { for (let v = yMin; v <= yMax * 1.0001; v *= 10) yTicks.push(v); }
  else for (let i = 0; i <= 5; i++) yTicks.push(yMin + ((yMax - yMin) * i) / 5);
  for (const v of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${sy(v) + 4}" text-anchor="end">${escape(formatY(v))}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<line x1="${sx(x)}" x2="${sx(x)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${sx(x)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${x}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
      escape(options.yLabel)
    }</text>`,
  );
  options.series.forEach((series, i) => {
    const visible = series.points.filter(([, y]) => !logY || y > 0);
    if (visible.length > 0) {
      const path = visible.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(" ");
      parts.push(
        `<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${
          series.dashed ? ' stroke-dasharray="6 4"' : ""
        }/>`,
        ...visible.map(([x, y]) =>
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${series.color}"/>`
        ),
      );
    }
    const ly = MARGIN.top + 10 + i * 20;
    const lx = MARGIN.left + plotW + 16;
    parts.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="2"${
        series.dashed ? ' stroke-dasharray="6 4"' : ""
      }/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escape(series.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

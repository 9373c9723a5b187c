/** The building blocks of the hand-written SVG charts: escaping, number formatting, nice ticks, colours. */

/** Distinct colours (Tableau 10), for series in order. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
] as const;

/** Steps that read well on a time axis in seconds (quarter and half minutes, minutes, 5 and 10 minutes). */
export const SECONDS_STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600] as const;

/** Text for an SVG (or HTML) element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/**
 * The smallest "nice" step at least `raw`: the first of `candidates` that is, else 1, 2 or 5 times a
 * power of ten (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, …). 1 for a raw step that is not a positive number.
 */
export function niceStep(raw: number, candidates?: readonly number[]): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return candidates?.[0] ?? 1;
  for (const c of candidates ?? []) if (c >= raw) return c;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * magnitude >= raw * (1 - 1e-9)) return tidy(m * magnitude);
  return tidy(10 * magnitude);
}

export interface Ticks {
  /** The axis runs from lo to hi. */
  lo: number;
  hi: number;
  /** Where the labelled ticks are, ascending, within lo..hi. */
  values: number[];
  /** For linear ticks, the step (labels get the decimals it needs); for log ticks 0. */
  step: number;
}

/**
 * About `target` ticks at a nice step covering min..max, the axis widened to whole steps (unless
 * `fixedMin` pins its start). Degenerate ranges (one value, nothing finite) still give a usable axis.
 */
export function linearTicks(min: number, max: number, target = 5, fixedMin?: number): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (fixedMin !== undefined && Number.isFinite(fixedMin)) min = Math.min(fixedMin, max);
  if (max <= min) {
    const spread = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    max = min + spread;
    if (fixedMin === undefined) min = min >= 0 && min - spread < 0 ? 0 : min - spread;
  }
  const step = niceStep((max - min) / Math.max(1, target));
  const lo = fixedMin !== undefined && Number.isFinite(fixedMin) ? min : tidy(Math.floor(min / step + 1e-9) * step);
  const hi = tidy(Math.ceil(max / step - 1e-9) * step);
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) values.push(tidy(k * step));
  return { lo, hi: Math.max(hi, lo + step), values, step };
}

/**
 * Log-axis ticks covering min..max (both > 0): over more than three decades the axis runs between
 * powers of ten with a tick at each; over fewer it ends at the nearest 1, 2 or 5 times a power of ten
 * and has a tick at each of those.
 */
export function logTicks(min: number, max: number): Ticks {
  if (!(min > 0) || !Number.isFinite(min)) min = max > 0 && Number.isFinite(max) ? max / 10 : 1;
  if (!(max >= min) || !Number.isFinite(max)) max = min * 10;
  const below = (v: number, ms: number[]) => {
    const power = 10 ** Math.floor(Math.log10(v) + 1e-9);
    return tidy(Math.max(...ms.map((m) => m * power).filter((c) => c <= v * (1 + 1e-9))));
  };
  const above = (v: number, ms: number[]) => {
    const power = 10 ** Math.floor(Math.log10(v) + 1e-9);
    return tidy(Math.min(...[...ms, 10].map((m) => m * power).filter((c) => c >= v * (1 - 1e-9))));
  };
  const fine = Math.log10(max / min) <= 3;
  const multiples = fine ? [1, 2, 5] : [1];
  const lo = below(min, multiples);
  let hi = above(max, multiples);
  if (hi <= lo) hi = above(lo * 1.0001, multiples);
  const values: number[] = [];
  for (let power = 10 ** Math.floor(Math.log10(lo) + 1e-9); power <= hi * (1 + 1e-9); power *= 10) {
    for (const m of multiples) {
      const v = tidy(m * power);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) values.push(v);
    }
  }
  return { lo, hi, values, step: 0 };
}

/**
 * A tick label: as many decimals as the step needs (a log tick's own value serves as its step), and
 * 12k / 1.5M when the axis reaches 10 000 / 1 000 000 (`axisMax`, the largest absolute tick; the
 * value itself when not given), so that one axis uses one unit.
 */
export function formatTick(value: number, step = 0, axisMax = Math.abs(value)): string {
  if (!Number.isFinite(value)) return '';
  if (value === 0) return '0';
  const unit = step || Math.abs(value) || 1;
  if (axisMax >= 1e6 && unit >= 1e4) return `${trim(value / 1e6, unit / 1e6)}M`;
  if (axisMax >= 1e4 && unit >= 10) return `${trim(value / 1e3, unit / 1e3)}k`;
  return trim(value, unit);
}

/** A measured value for a label: three significant digits, 12.3k / 1.23M for large numbers. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return '';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${significant(value / 1e6)}M`;
  if (abs >= 1e4) return `${significant(value / 1e3)}k`;
  if (abs >= 100) return value.toFixed(0);
  return significant(value);
}

function significant(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function trim(value: number, unit: number): string {
  // the decimals the unit has: 2.5 → 1, 0.02 → 2, 500 → 0
  let decimals = 0;
  while (decimals < 6 && Math.abs(unit * 10 ** decimals - Math.round(unit * 10 ** decimals)) > 1e-6) decimals++;
  const text = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Removes floating-point noise (0.30000000000000004 → 0.3). */
function tidy(value: number): number {
  return Number(value.toPrecision(12));
}

/** A coordinate for an attribute: one decimal, never NaN (0 instead). */
export function coord(value: number): string {
  if (!Number.isFinite(value)) return '0';
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

/** Rough width in pixels of text in a sans-serif font: enough to lay out margins and legends. */
export function textWidth(text: string, fontSize = 11): number {
  return [...text].length * fontSize * 0.62;
}

/** A short id, the same for the same text: for clip paths that must not clash when charts are stacked. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

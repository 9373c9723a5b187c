import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** V8's .cpuprofile (what `node --cpu-prof` and the inspector's Profiler.stop give). */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
}

interface Frame {
  name: string;
  category: string;
  self: number;
  total: number;
  children: Map<string, Frame>;
}

/** Where a frame's time goes, for the summary and the colours: a package, the app, Node, V8. */
export function categoryOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8: garbage collector';
    if (functionName === '(program)') return 'V8: program (compile, native)';
    if (functionName === '(idle)') return 'idle';
    return 'native';
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  if (/\/dist\/apps\//.test(url)) return 'app and @shop libs (bundle)';
  return url;
}

/** Folds the profile's call tree by (function, file, line) from the root: a flame graph's frames. */
function foldProfile(profile: CpuProfile): { root: Frame; msPerSample: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const build = (id: number): Frame => {
    const node = byId.get(id);
    if (!node) throw new Error(`profile node ${id} missing`);
    const { functionName, url, lineNumber } = node.callFrame;
    const frame: Frame = {
      name: `${functionName || '(anonymous)'}${url ? ` ${basename(url)}:${lineNumber + 1}` : ''}`,
      category: categoryOf(url, functionName),
      self: (node.hitCount ?? 0) * msPerSample,
      total: 0,
      children: new Map(),
    };
    for (const childId of node.children ?? []) {
      const child = build(childId);
      if (child.category === 'idle') continue; // not CPU
      const same = frame.children.get(child.name);
      if (same) merge(same, child);
      else frame.children.set(child.name, child);
    }
    frame.total = frame.self + [...frame.children.values()].reduce((sum, child) => sum + child.total, 0);
    return frame;
  };
  return { root: build(profile.nodes[0].id), msPerSample };
}

function merge(into: Frame, from: Frame): void {
  into.self += from.self;
  into.total += from.total;
  for (const [name, child] of from.children) {
    const same = into.children.get(name);
    if (same) merge(same, child);
    else into.children.set(name, child);
  }
}

export interface ProfileSummary {
  process: string;
  /** CPU ms sampled (idle left out). */
  cpuMs: number;
  byCategory: Array<{ category: string; ms: number }>;
  topFunctions: Array<{ name: string; category: string; ms: number }>;
}

export function summarizeProfile(process: string, profile: CpuProfile): ProfileSummary {
  const { root } = foldProfile(profile);
  const categories = new Map<string, number>();
  const functions = new Map<string, { name: string; category: string; ms: number }>();
  const walk = (frame: Frame) => {
    if (frame.self > 0) {
      categories.set(frame.category, (categories.get(frame.category) ?? 0) + frame.self);
      const fn = functions.get(frame.name) ?? { name: frame.name, category: frame.category, ms: 0 };
      fn.ms += frame.self;
      functions.set(frame.name, fn);
    }
    for (const child of frame.children.values()) walk(child);
  };
  walk(root);
  return {
    process,
    cpuMs: root.total,
    byCategory: [...categories.entries()].map(([category, ms]) => ({ category, ms })).sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.values()].sort((a, b) => b.ms - a.ms).slice(0, 15),
  };
}

const WIDTH = 1200;
const ROW = 16;
const PALETTE = ['#e4572e', '#f3a712', '#a8c686', '#669bbc', '#c36f09', '#8e7dbe', '#29335c', '#db2b39', '#76b041'];

function colourOf(category: string): string {
  if (category.startsWith('V8')) return '#b0b0b0';
  if (category.startsWith('node:')) return '#7fb7be';
  if (category.startsWith('app')) return '#e9c46a';
  let hash = 0;
  for (const ch of category) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/**
 * A flame graph (root at the bottom, callers below callees, width = CPU time) of one process as SVG:
 * each frame coloured by where its code comes from, its name, file:line, package and ms in the tooltip.
 */
export function flameGraphSvg(title: string, profile: CpuProfile): string {
  const { root } = foldProfile(profile);
  const scale = (WIDTH - 20) / Math.max(root.total, 1e-9);
  const rects: string[] = [];
  let maxDepth = 0;
  const place = (frame: Frame, x: number, depth: number) => {
    const width = frame.total * scale;
    if (width < 1) return;
    maxDepth = Math.max(maxDepth, depth);
    rects.push(
      `<g><title>${escapeXml(`${frame.name} [${frame.category}] ${frame.total.toFixed(0)} ms (${((100 * frame.total) / root.total).toFixed(1)}%)`)}</title>` +
        `<rect x="${(10 + x).toFixed(1)}" y="@${depth}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colourOf(frame.category)}" rx="2"/>` +
        (width > 40
          ? `<text x="${(13 + x).toFixed(1)}" y="@${depth}+" font-size="11">${escapeXml(frame.name.slice(0, Math.floor(width / 6.5)))}</text>`
          : '') +
        '</g>',
    );
    let childX = x;
    for (const child of [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      place(child, childX, depth + 1);
      childX += child.total * scale;
    }
  };
  place({ ...root, name: `all (${root.total.toFixed(0)} ms of CPU sampled)` }, 0, 0);
  const height = (maxDepth + 1) * ROW + 60;
  const yOf = (depth: number) => height - 20 - (depth + 1) * ROW;
  const body = rects
    .map((rect) =>
      rect
        .replace(/y="@(\d+)\+"/g, (_, d: string) => `y="${yOf(Number(d)) + ROW - 4}"`)
        .replace(/y="@(\d+)"/g, (_, d: string) => `y="${yOf(Number(d))}"`),
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace">
<rect width="100%" height="100%" fill="#fdfdfd"/>
<text x="10" y="22" font-size="15" font-family="sans-serif">${escapeXml(title)}</text>
${body}
</svg>
`;
}

/** The .cpuprofile files the preload wrote into `dir`, by process name. */
export function readProfiles(dir: string): Array<{ process: string; profile: CpuProfile }> {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort()
    .map((file) => ({
      process: file.replace(/\.cpuprofile$/, ''),
      profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile,
    }));
}

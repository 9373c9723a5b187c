import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable } from '@shop/testing';
import { flameGraphSvg, readProfiles, summarizeProfile } from './profile';
import type { RateRun } from './report';

/**
 * From the profiles of one system's run: a flame graph per process (`saga-<app>.svg`) and
 * `saga-profile.md`, where each process's sampled CPU goes (by package) and its hottest functions,
 * in ms per CONFIRMED order of the run.
 */
export function writeProfileReport(profileDir: string, outDir: string, runs: RateRun[]): string[] {
  mkdirSync(outDir, { recursive: true });
  const confirmed = runs.reduce((sum, run) => sum + run.confirmed, 0);
  const perOrder = (ms: number) => (confirmed ? (ms / confirmed).toFixed(2) : '-');
  const files: string[] = [];
  const sections: string[] = [
    '# CPU profiles of the saga',
    '',
    `Each app sampled by V8's profiler (1 ms) from its start to its exit, over: ${runs
      .map((run) => `${run.offered === 'flat' ? 'flat out' : `${run.offered}/s`} (${run.confirmed} confirmed)`)
      .join(', ')}; warm-up included. ms per order = sampled CPU / ${confirmed} CONFIRMED orders.`,
    'Taken with `npm run bench:saga -- --profile <dir> --rates ... --replicas 1`.',
    '',
  ];
  for (const { process, profile } of readProfiles(profileDir)) {
    const app = process.replace(/-\d+$/, '');
    const svg = `saga-${app}.svg`;
    writeFileSync(join(outDir, svg), flameGraphSvg(`${app}: CPU flame graph under the saga's load`, profile));
    files.push(join(outDir, svg));
    const summary = summarizeProfile(app, profile);
    sections.push(
      `## ${app}: ${perOrder(summary.cpuMs)} ms per order`,
      '',
      `![${app} flame graph](${svg})`,
      '',
      markdownTable(
        ['where', 'ms/order', 'share'],
        summary.byCategory
          .slice(0, 12)
          .map((c) => [c.category, perOrder(c.ms), `${((100 * c.ms) / summary.cpuMs).toFixed(1)}%`]),
      ),
      '',
      markdownTable(
        ['hottest functions (self time)', 'where', 'ms/order'],
        summary.topFunctions.map((f) => [`\`${f.name}\``, f.category, perOrder(f.ms)]),
      ),
      '',
    );
  }
  const md = join(outDir, 'saga-profile.md');
  writeFileSync(md, sections.join('\n'));
  files.push(md);
  return files;
}

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { barChart } from './charts';
import { markdownTable } from './markdown';
import { formatWithPrettier, writeReport } from './write-report';

const repoRoot = resolve(__dirname, '../../../../..');

/** `prettier --check` with the repository's configuration, as `npm test` runs it. */
function prettierCheck(...files: string[]): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    [require.resolve('prettier/bin/prettier.cjs'), '--check', '--config', join(repoRoot, '.prettierrc'), ...files],
    { encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('writeReport', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'write-report-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes <name>.json, .md and .svg, creating the directory, and returns their paths', async () => {
    const svg = barChart({ title: 't', yLabel: 'ms', groups: ['a'], series: [{ name: 's', values: [1] }] });
    const json = {
      results: [{ queue: 'classic', median: 12.4, samples: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }],
    };
    const markdown = [
      '# Bench   results',
      '* one',
      '* two',
      '',
      '![median latency](bench-test.svg)',
      '',
      '|a|b|',
      '|-|-:|',
      '|classic|12.4|',
      '',
      'A very long line of prose that goes on well past the print width of one hundred and twenty characters, which prettier keeps as it is.',
    ].join('\n');
    const target = join(dir, 'reports', 'nested');
    const paths = await writeReport({ dir: target, name: 'bench-test', json, markdown, svg });
    expect(paths).toEqual(['json', 'md', 'svg'].map((ext) => join(target, `bench-test.${ext}`)));

    expect(JSON.parse(await readFile(paths[0] as string, 'utf8'))).toEqual(json);
    const md = await readFile(paths[1] as string, 'utf8');
    expect(md).toContain('![median latency](bench-test.svg)');
    expect(md).toContain('- one');
    expect(md).toContain('| classic | 12.4 |');
    expect(md).toContain('| a       |    b |');
    expect(await readFile(paths[2] as string, 'utf8')).toBe(svg);

    const check = prettierCheck(paths[0] as string, paths[1] as string);
    expect(check.output).not.toMatch(/\[warn\]/);
    expect(check.status).toBe(0);
  });

  it('overwrites the files of an earlier run (fixed names, git keeps the history)', async () => {
    await writeReport({ dir, name: 'r', json: { run: 1 }, markdown: '# one\n', svg: '<svg/>' });
    await writeReport({ dir, name: 'r', json: { run: 2 }, markdown: '# two\n', svg: '<svg/>' });
    expect(JSON.parse(await readFile(join(dir, 'r.json'), 'utf8'))).toEqual({ run: 2 });
    expect(await readFile(join(dir, 'r.md'), 'utf8')).toBe('# two\n');
  });
});

describe('markdownTable under prettier', () => {
  it('is already formatted', async () => {
    const table = markdownTable(
      ['queue', 'median (ms)', 'p99 (ms)', 'note'],
      [
        ['classic', 12.4, 30.25, 'fine'],
        ['quorum', 18.9, 101, 'a | pipe'],
      ],
      ['l', 'r', 'r', 'l'],
    );
    const text = `# Results\n\n${table}\n`;
    expect(await formatWithPrettier([{ file: join(repoRoot, 'reports', 'x.md'), text }])).toEqual([text]);
  });
});

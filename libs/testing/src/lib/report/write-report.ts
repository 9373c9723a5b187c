import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface WriteReportOptions {
  /** The directory, created when missing, e.g. `<repo>/reports`. */
  dir: string;
  /** The files' name without extension, e.g. `bench-messaging`. */
  name: string;
  /** Stored as `<name>.json`. */
  json: unknown;
  /** Stored as `<name>.md`; it should show the chart as `![...](<name>.svg)`. */
  markdown: string;
  /** Stored as `<name>.svg`. */
  svg: string;
}

/**
 * Writes `<dir>/<name>.json`, `.md` and `.svg` and returns their paths in that order. The JSON and the
 * Markdown are formatted with prettier and the configuration that applies where they are written (or,
 * outside any configured directory, in the working directory), so that `prettier --check .` passes with
 * them in the repository.
 */
export async function writeReport(options: WriteReportOptions): Promise<string[]> {
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const base = join(dir, options.name);
  const paths = [`${base}.json`, `${base}.md`, `${base}.svg`] as const;
  const [json, markdown] = await formatWithPrettier([
    { file: paths[0], text: `${JSON.stringify(options.json, null, 2)}\n` },
    { file: paths[1], text: options.markdown.endsWith('\n') ? options.markdown : `${options.markdown}\n` },
  ]);
  await writeFile(paths[0], json as string);
  await writeFile(paths[1], markdown as string);
  await writeFile(paths[2], options.svg.endsWith('\n') ? options.svg : `${options.svg}\n`);
  return [...paths];
}

/**
 * Formats prettier's way each text, as the file it will be written to (which chooses the parser and
 * the configuration). Prettier runs in a child Node process: prettier 3 loads its plugins with a
 * dynamic `import()`, which fails inside Jest's module system, and a child behaves the same everywhere.
 * When prettier cannot be run, the texts come back unformatted, with a warning on stderr.
 */
export async function formatWithPrettier(jobs: Array<{ file: string; text: string }>): Promise<string[]> {
  try {
    const prettier = require.resolve('prettier');
    const output = await runNode(FORMAT_SCRIPT, [prettier, process.cwd()], JSON.stringify(jobs));
    const formatted: unknown = JSON.parse(output);
    if (!Array.isArray(formatted) || formatted.length !== jobs.length) throw new Error('unexpected output');
    return formatted.map(String);
  } catch (error) {
    process.stderr.write(`report: not formatted with prettier (${(error as Error).message.split('\n')[0]})\n`);
    return jobs.map((job) => job.text);
  }
}

/** Run by `node -e` with the path of prettier and the fallback directory for its configuration; jobs on stdin. */
const FORMAT_SCRIPT = `
const { basename, join } = require('node:path');
const prettier = require(process.argv[1]);
const fallbackDir = process.argv[2];
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  try {
    const out = [];
    for (const { file, text } of JSON.parse(input)) {
      const config =
        (await prettier.resolveConfig(file, { editorconfig: true })) ??
        (await prettier.resolveConfig(join(fallbackDir, basename(file)), { editorconfig: true })) ??
        {};
      out.push(await prettier.format(text, { ...config, filepath: file }));
    }
    process.stdout.write(JSON.stringify(out));
  } catch (error) {
    process.stderr.write(String(error && error.stack || error));
    process.exitCode = 1;
  }
});
`;

function runNode(script: string, args: string[], stdin: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(stderr.trim() || `prettier exited with ${signal ?? code}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

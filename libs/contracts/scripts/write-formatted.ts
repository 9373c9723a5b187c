import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { format, resolveConfig } from 'prettier';

/** Writes a generated file as the repository's Prettier would format it, so formatting never makes it drift. */
export async function writeFormatted(file: string, text: string): Promise<void> {
  const options = await resolveConfig(file);
  writeFileSync(file, await format(text, { ...options, filepath: file }));
  console.log(`wrote ${relative(process.cwd(), file)}`);
}

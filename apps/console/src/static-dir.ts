import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const STATIC_DIR = Symbol('STATIC_DIR');

/**
 * Where the built page is: CONSOLE_STATIC_DIR when set; else `public/` beside the running main.js
 * (dist/apps/console/public, what `nx build console` writes); else that folder under the working
 * directory (`nx serve console`, which runs the TypeScript).
 */
export function staticDir(setting: string | undefined): string {
  if (setting) return resolve(setting);
  const besideMain = join(dirname(resolve(process.argv[1] ?? '.')), 'public');
  if (existsSync(join(besideMain, 'index.html'))) return besideMain;
  return resolve('dist/apps/console/public');
}

import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The console's page: web/ built into dist/apps/console/public, which the console's server serves
 * (beside its own main.js). `nx build console` runs it after the server's webpack build;
 * `nx serve console` keeps it rebuilding (`watch-page`) while the server runs.
 */
export default defineConfig({
  root: here('./web'),
  base: '/',
  plugins: [react()],
  build: {
    outDir: here('../../dist/apps/console/public'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // one small page: no module-preload polyfill injected into index.html
    modulePreload: { polyfill: false },
  },
});

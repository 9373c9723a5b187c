const { readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const swcOptions = require('./swc-options');

const ROOT = resolve(__dirname, '../..');

/**
 * The build of every app: `webpack -c tools/build/webpack.config.js --env app=<app>` (the `build`
 * target, nx.json) writes `dist/apps/<app>/main.js` with its source map. SWC compiles (as in the
 * tests); the workspace's libraries (`@shop/*`, resolved through tsconfig.base.json's `paths`) are
 * bundled in; every package from node_modules stays external, required at run time from the
 * production dependencies (Dockerfile). Type checking is the `typecheck` target's job.
 */
module.exports = (env = {}) => {
  const app = env.app;
  if (!app || !/^[a-z][a-z0-9-]*$/.test(app)) {
    throw new Error(`webpack: pass the app to build, e.g. --env app=orders (got ${JSON.stringify(app)})`);
  }
  const production = process.env.NODE_ENV === 'production';
  return {
    mode: production ? 'production' : 'development',
    context: join(ROOT, 'apps', app),
    entry: './src/main.ts',
    target: 'node20',
    devtool: 'source-map',
    optimization: { minimize: false },
    output: {
      path: join(ROOT, 'dist/apps', app),
      filename: 'main.js',
      clean: true,
      // Stack traces name the source file as it is on disk (an editor opens it), except in the image.
      ...(!production && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    resolve: { extensions: ['.ts', '.js', '.json'], alias: workspaceAliases() },
    externalsPresets: { node: true },
    externals: [({ request }, callback) => (isPackage(request) ? callback(null, `commonjs ${request}`) : callback())],
    module: {
      rules: [
        {
          test: /\.ts$/,
          exclude: /node_modules/,
          use: { loader: 'swc-loader', options: swcOptions() },
        },
      ],
    },
    stats: 'errors-warnings',
  };
};

/** `@shop/contracts` -> libs/contracts/src/index.ts, ...: tsconfig.base.json's `paths`, exact matches. */
function workspaceAliases() {
  const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.base.json'), 'utf8'));
  return Object.fromEntries(
    Object.entries(compilerOptions.paths).map(([name, [target]]) => [`${name}$`, join(ROOT, target)]),
  );
}

/** A bare specifier that is not one of the workspace's libraries: a package from node_modules. */
function isPackage(request) {
  return !!request && !/^[./]/.test(request) && !request.startsWith('@shop/') && !request.startsWith('node:');
}

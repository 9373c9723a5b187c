const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

/**
 * The webpack build of every app: `dist/apps/<app>/main.js`, Node target, node_modules left external
 * (the runtime image installs the production dependencies), source maps for stack traces.
 */
module.exports = function nestAppConfig(app) {
  return {
    output: {
      path: join(__dirname, '../../dist/apps', app),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && {
        devtoolModuleFilenameTemplate: '[absolute-resource-path]',
      }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
      }),
    ],
  };
};

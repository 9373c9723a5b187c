/**
 * How SWC compiles the TypeScript here, for the tests (@swc/jest, jest.preset.js) and the apps' build
 * (swc-loader, tools/build/webpack.config.js) alike: decorators with their type metadata (Nest's DI,
 * class-validator and TypeORM read it), ES2022, class names kept (Nest names providers by them),
 * CommonJS. Helpers are inlined, so neither tslib nor @swc/helpers is needed at run time.
 */
module.exports = function swcOptions({ sourceMaps = true } = {}) {
  return {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps,
  };
};

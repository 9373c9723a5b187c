export * from './answers';
export * from './app-process';
export * from './fixtures';
export * from './invariants';
export * from './shop-client';
export * from './system';
export * from './nest-error';
export * from './otlp-collector';

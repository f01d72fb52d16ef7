export * from './native.js';
export * from './media/index.js';
export * from './build/index.js';
export * from './provision/index.js';
export * from './errors.js';
export * from './doctor/index.js';
export { run, type RunResult, type RunOptions } from './util/run.js';
export { findExecutable } from './util/which.js';
export * from './engines/index.js';

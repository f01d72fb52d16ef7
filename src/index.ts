export * from './native.js';
export * from './media/index.js';
export * from './build/index.js';
export * from './provision/index.js';

export * from './errors.js';
export * from './ids.js';
export * from './pointer.js';
export * from './envelope.js';
export * from './receipt.js';
export * from './api.js';
export type * from './ports.js';
export * from './container/index.js';

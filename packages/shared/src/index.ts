export * from './errors.js';
export * from './ids.js';
export * from './pointer.js';
export * from './envelope.js';
export * from './api.js';
export type * from './ports.js';
export * from './container/index.js';
export * from './local-stack.js';

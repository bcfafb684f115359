export * from './errors.js';
export * from './ids.js';
export * from './pointer.js';
export * from './envelope.js';
export * from './api.js';
export * from './auth-api.js';
export type * from './ports.js';
export * from './container/index.js';
export * from './key-transitions.js';

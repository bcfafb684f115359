export * from './errors.js';
export * from './ids.js';
export * from './formats/index.js';
export * from './api.js';
export * from './records-api.js';
export * from './auth-api.js';
export type * from './ports.js';
export * from './local-stack.js';
export * from './names.js';

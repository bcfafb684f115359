// One home per wire format (docs/format.md): each module holds its version constant(s), schema and
// rules; known-answer vectors sit next to them (*.vectors.test.ts, container: vectors/).
export * from './container/index.js';
export * from './pointer.js';
export * from './envelope.js';
export * from './record-envelope.js';
export * from './audit-chain.js';
export * from './receipt.js';
export * from './key-transition.js';
export * from './feed-notification.js';

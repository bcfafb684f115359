export { createVirgilApp, type VirgilAppCredentials } from './app.js';
export { startVirgilDirectory, type VirgilDirectory, type VirgilDirectoryOptions } from './directory.js';

import { setFlagsFromString } from 'node:v8';

/**
 * Imported first by the CLI, so it runs before the heavy modules load. Keeps V8's young generation
 * at its initial size (1 MiB semi-spaces): transfers allocate a buffer per segment, and the
 * scavenges that triggers otherwise grow the young generation to 16 MiB semi-spaces, ~30 MiB of
 * peak RSS that constant-memory transfers (< 150 MiB for 1 GiB, issue 3) cannot afford.
 */
setFlagsFromString('--semi-space-growth-factor=1');

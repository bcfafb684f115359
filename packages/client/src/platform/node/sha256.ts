import { createHash } from 'node:crypto';
import type { Sha256Factory } from '../sha256.js';

export const nodeSha256: Sha256Factory = () => createHash('sha256');

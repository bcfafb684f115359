import { nodePlatform, ReceivedFiles } from '@conduit/client';
import type { GlobalOptions } from '../settings/config.js';
import { identityHome } from '../settings/identity-home.js';

/** The local list of received files that `receive` appends to and `conduit received` prints. */
export function receivedFiles(g: GlobalOptions): ReceivedFiles {
  return new ReceivedFiles(identityHome(g).dir, nodePlatform.stateFiles);
}

import { HintedError } from '../output/errors.js';

type Devstack = typeof import('@conduit/devstack');

/**
 * The local stand-ins behind `stack up` and `demo`: an optional peer of the CLI, loaded only by
 * those two commands, so that an installed CLI does not bring the server, Redis or S3 with it.
 */
export async function loadDevstack(
  load: () => Promise<Devstack> = () => import('@conduit/devstack'),
): Promise<Devstack> {
  try {
    return await load();
  } catch (err) {
    const missing =
      (err as NodeJS.ErrnoException | null)?.code === 'ERR_MODULE_NOT_FOUND' &&
      (err as Error).message.includes('@conduit/devstack');
    if (!missing) throw err;
    throw new HintedError(
      'CONFIG',
      'The local stack (`conduit stack up`, `conduit demo`) needs the optional package @conduit/devstack, which is not installed.',
      'install @conduit/devstack next to the CLI (`npm install @conduit/devstack`), or run from the Conduit repository.',
      { cause: err },
    );
  }
}

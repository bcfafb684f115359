import { ConduitError, parseKeyTransitionStatement } from '@conduit/shared';
import type { KeyTransition } from '@conduit/shared';
import type { KeyTransitionRepository } from '../adapters/redis/key-transitions.js';

/**
 * Key-transition statements (docs/identity.md): signed by the identity's previous key, so the
 * server cannot make one up (the old private key never leaves the endpoint). They are public,
 * signed facts; the server checks the shape and that a caller publishes about itself only.
 */
export class KeyTransitionService {
  constructor(private readonly repo: KeyTransitionRepository) {}

  async publish(identity: string, transition: KeyTransition): Promise<void> {
    const statement = parseKeyTransitionStatement(transition.statement);
    if (!statement) throw new ConduitError('VALIDATION_FAILED', 'The statement is not a key-transition statement.');
    if (statement.identity !== identity) {
      throw new ConduitError('FORBIDDEN', 'An identity publishes key transitions about itself only.');
    }
    await this.repo.add(identity, transition);
  }

  list(identity: string): Promise<KeyTransition[]> {
    return this.repo.list(identity);
  }
}

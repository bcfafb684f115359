import { createHash } from 'node:crypto';
import { ConduitError, RawCardModel, type DirectoryAdmin, type Identity, type TokenIssuer } from '@conduit/shared';

/** Virgil's cloud: what e3kit talks to unless configured otherwise. */
export const VIRGIL_API_URL = 'https://api.virgilsecurity.com';
/** The directory answers in milliseconds; a hung one must not hang a deletion forever. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Keyknox v2 root and path of e3kit's named key backups (CloudKeyStorage.storeEntry). */
const NAMED_BACKUPS = { root: 'e3kit', path: 'backup' } as const;

/**
 * The Virgil directory's own REST API, called with a JWT the server mints for the identity with
 * its app key (the same key that signs every client's Virgil token): Cards v5 search and revoke,
 * Keyknox v1 reset (the password backup e3kit's backupPrivateKey writes) and v2 reset of the
 * named backups. The devstack's directory (packages/devstack/src/virgil/) serves the same routes.
 */
export class VirgilDirectoryAdmin implements DirectoryAdmin {
  constructor(
    private readonly tokens: TokenIssuer,
    private readonly apiUrl: string = VIRGIL_API_URL,
  ) {}

  async eraseIdentity(
    identity: Identity,
    retire: (cards: RawCardModel[]) => Promise<void>,
  ): Promise<{ cardsRevoked: number; backupsReset: number }> {
    const token = (await this.tokens.issue(identity)).value;
    const found = await this.call(token, 'POST', '/card/v5/actions/search', { identities: [identity] });
    const parsed = RawCardModel.array().safeParse(found ?? []);
    if (!parsed.success) {
      throw new ConduitError(
        'DEPENDENCY_UNAVAILABLE',
        'The key directory answered a card search with malformed cards.',
      );
    }
    const cards = parsed.data;
    // Kept before any revoke, so members can still verify what the identity sent (lifecycle.md).
    await retire(cards);
    let cardsRevoked = 0;
    // Superseded predecessors are listed too; one revoked already with its chain answers 404.
    for (const id of new Set(cards.map((c) => cardIdOf(c.content_snapshot)))) {
      if ((await this.call(token, 'POST', `/card/v5/actions/revoke/${id}`, undefined, [404])) !== null) {
        cardsRevoked += 1;
      }
    }
    const v1 = (await this.call(token, 'GET', '/keyknox/v1')) as { value?: string } | null;
    await this.call(token, 'POST', '/keyknox/v1/reset');
    await this.call(token, 'POST', '/keyknox/v2/reset', NAMED_BACKUPS);
    return { cardsRevoked, backupsReset: v1?.value ? 1 : 0 };
  }

  /**
   * One request: its JSON answer ('' for an empty one), or null for a `tolerated` status. Anything
   * else unexpected is DEPENDENCY_UNAVAILABLE.
   */
  private async call(
    token: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    tolerated: readonly number[] = [],
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Virgil ${token}`,
          'virgil-agent': 'conduit-server;js;node',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'The key directory is unreachable.', undefined, { cause });
    }
    const text = await res.text();
    if (tolerated.includes(res.status)) return null;
    if (!res.ok) {
      // The directory's error code only (never the body's message, which may echo input).
      const code = safeCode(text);
      throw new ConduitError(
        'DEPENDENCY_UNAVAILABLE',
        `The key directory refused ${method} ${path.replace(/[0-9a-f]{64}$/, '<card>')} (HTTP ${res.status}${code ? `, code ${code}` : ''}).`,
      );
    }
    return text === '' ? '' : (JSON.parse(text) as unknown);
  }
}

/** Card id = hex of the first 32 bytes of SHA-512(snapshot bytes) (virgil-sdk generateCardId). */
export const cardIdOf = (contentSnapshot: string): string =>
  createHash('sha512').update(Buffer.from(contentSnapshot, 'base64')).digest().subarray(0, 32).toString('hex');

function safeCode(text: string): number | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

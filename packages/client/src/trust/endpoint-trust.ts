import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError, Identity } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import { localPublicKey } from '../virgil/local-key.js';
import type { KeyEntries, PinStoreIo } from './pin-store.js';
import { PinStore } from './pin-store.js';
import { PinnedCards } from './pinned-cards.js';
import { safetyNumberReport, trustReport } from './verification.js';
import type { ConfirmTrust, SafetyNumberReport, TrustReport } from './verification.js';

export interface EndpointTrustDeps {
  self: Identity;
  /** The pin file (`<home>/<identity>/pins.json`). */
  pinPath: string;
  pinIo: PinStoreIo;
  ethree: () => Promise<EThree>;
  /** The unlocked key store: holds the pin store's data key, and this device's private key. */
  keyStore: () => Promise<KeyEntries & Parameters<typeof localPublicKey>[1]>;
  api: Pick<HttpClient, 'keyTransitions' | 'retiredCards'>;
  log: (line: string) => void;
}

/**
 * One client's pinned keys (docs/identity.md): the pin store, the pinned card lookup built on it,
 * and what users see of them (safety numbers, trust). Opened lazily, once.
 */
export class EndpointTrust {
  private pinned: PinnedCards | undefined;
  private pinStore: Promise<PinStore> | undefined;

  constructor(private readonly deps: EndpointTrustDeps) {}

  /** The pinned card lookup: every card the client uses comes through it. */
  async cards(): Promise<PinnedCards> {
    const ethree = await this.deps.ethree();
    this.pinned ??= new PinnedCards({
      ethree,
      self: this.deps.self,
      pins: () => this.pins(),
      transitions: async (identity) => (await this.deps.api.keyTransitions(identity)).transitions,
      retiredCards: async (identity) => (await this.deps.api.retiredCards(identity)).cards,
      log: this.deps.log,
    });
    return this.pinned;
  }

  async safetyNumber(identity: string): Promise<SafetyNumberReport> {
    const peer = this.peer(identity);
    return safetyNumberReport(await this.cards(), this.deps.self, await this.ownPublicKey(), peer);
  }

  async trust(identity: string, confirm?: ConfirmTrust): Promise<TrustReport> {
    const peer = this.peer(identity);
    return trustReport(await this.cards(), this.deps.self, await this.ownPublicKey(), peer, confirm);
  }

  private pins(): Promise<PinStore> {
    if (!this.pinStore) {
      const opening = (async () =>
        PinStore.open(this.deps.pinPath, this.deps.self, await this.deps.keyStore(), this.deps.log, this.deps.pinIo))();
      opening.catch(() => {
        if (this.pinStore === opening) this.pinStore = undefined;
      });
      this.pinStore = opening;
    }
    return this.pinStore;
  }

  /** This device's own public key (from its private key, not from the directory's card). */
  private async ownPublicKey(): Promise<Buffer> {
    const key = await localPublicKey(await this.deps.ethree(), await this.deps.keyStore());
    if (!key) throw new ConduitError('CONFIG', 'This device holds no private key for this identity: log in first.');
    return key;
  }

  private peer(identity: string): Identity {
    const parsed = Identity.safeParse(identity);
    if (!parsed.success) throw new ConduitError('VALIDATION_FAILED', 'Invalid identity.');
    if (parsed.data === this.deps.self) {
      throw new ConduitError('VALIDATION_FAILED', 'Name another identity than your own: your own key is not pinned.');
    }
    return parsed.data;
  }
}

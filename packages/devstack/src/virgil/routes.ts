import type { z } from 'zod';
import type { CardsService } from './cards.js';
import { VirgilServiceError } from './errors.js';
import type { Reply } from './http.js';
import type { KeyknoxReply, KeyknoxService } from './keyknox.js';
import { brainkeySeed } from './pythia.js';
import {
  BrainkeyBody,
  CardId,
  KeyknoxHash,
  KeyknoxV1PushBody,
  KeyknoxV2KeysBody,
  KeyknoxV2PullBody,
  KeyknoxV2PushBody,
  KeyknoxV2ResetBody,
  PublishCardBody,
  SearchCardsBody,
} from './schemas.js';

export interface RouteContext {
  identity: string;
  body: unknown;
  /** Captured path segments, already matched by the route pattern. */
  params: string[];
  previousHash: string | undefined;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  pattern: RegExp;
  /** Whether the route changes state (the directory persists after each such request). */
  writes: boolean;
  handle(ctx: RouteContext): Reply;
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new VirgilServiceError('VALIDATION_FAILED');
  return result.data;
}

const HASH_HEADER = 'virgil-keyknox-hash';

const keyknoxReply = <T>({ body, hash }: KeyknoxReply<T>): Reply =>
  hash === undefined ? { body } : { body, headers: { [HASH_HEADER]: hash } };

/** The Virgil HTTP API as e3kit-node 2.5.1 (virgil-sdk 6, keyknox 1.0, virgil-pythia 1.0) calls it. */
export function virgilRoutes(cards: CardsService, keyknox: KeyknoxService, pythiaKey: string): Route[] {
  return [
    {
      method: 'POST',
      pattern: /^\/card\/v5$/,
      writes: true,
      handle: ({ identity, body }) => ({ body: cards.publish(identity, parse(PublishCardBody, body)) }),
    },
    {
      method: 'POST',
      pattern: /^\/card\/v5\/actions\/search$/,
      writes: false,
      handle: ({ body }) => ({ body: cards.search(parse(SearchCardsBody, body).identities) }),
    },
    {
      method: 'POST',
      pattern: /^\/card\/v5\/actions\/revoke\/([^/]+)$/,
      writes: true,
      handle: ({ identity, params }) => {
        cards.revoke(identity, parse(CardId, params[0]));
        return {};
      },
    },
    {
      method: 'GET',
      pattern: /^\/card\/v5\/([^/]+)$/,
      writes: false,
      handle: ({ params }) => {
        const { card, superseded } = cards.get(parse(CardId, params[0]));
        // virgil-sdk reads this (misspelt) header to mark a card outdated.
        return superseded ? { body: card, headers: { 'x-virgil-is-superseeded': 'true' } } : { body: card };
      },
    },
    {
      method: 'GET',
      pattern: /^\/keyknox\/v1$/,
      writes: false,
      handle: ({ identity }) => keyknoxReply(keyknox.v1Pull(identity)),
    },
    {
      method: 'PUT',
      pattern: /^\/keyknox\/v1$/,
      writes: true,
      handle: ({ identity, body, previousHash }) =>
        keyknoxReply(keyknox.v1Push(identity, parse(KeyknoxV1PushBody, body), previousHash)),
    },
    {
      method: 'POST',
      pattern: /^\/keyknox\/v1\/reset$/,
      writes: true,
      handle: ({ identity }) => keyknoxReply(keyknox.v1Reset(identity)),
    },
    {
      method: 'POST',
      pattern: /^\/keyknox\/v2\/push$/,
      writes: true,
      handle: ({ identity, body, previousHash }) =>
        keyknoxReply(keyknox.v2Push(identity, parse(KeyknoxV2PushBody, body), previousHash)),
    },
    {
      method: 'POST',
      pattern: /^\/keyknox\/v2\/pull$/,
      writes: false,
      handle: ({ identity, body }) => keyknoxReply(keyknox.v2Pull(identity, parse(KeyknoxV2PullBody, body))),
    },
    {
      method: 'POST',
      pattern: /^\/keyknox\/v2\/keys$/,
      writes: false,
      handle: ({ identity, body }) => ({ body: keyknox.v2Keys(identity, parse(KeyknoxV2KeysBody, body)) }),
    },
    {
      method: 'POST',
      pattern: /^\/keyknox\/v2\/reset$/,
      writes: true,
      handle: ({ identity, body }) => keyknoxReply(keyknox.v2Reset(identity, parse(KeyknoxV2ResetBody, body))),
    },
    {
      method: 'POST',
      pattern: /^\/pythia\/v1\/brainkey$/,
      writes: false,
      handle: ({ identity, body }) => {
        const req = parse(BrainkeyBody, body);
        return { body: { seed: brainkeySeed(pythiaKey, identity, req.blinded_password, req.brainkey_id) } };
      },
    },
  ];
}

/** Validates the optional `Virgil-Keyknox-Previous-Hash` request header. */
export function previousHashOf(header: string | string[] | undefined): string | undefined {
  return header === undefined ? undefined : parse(KeyknoxHash, header);
}

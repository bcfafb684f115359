import type { IdTokenProvider } from './session/id-token-source.js';

/** What `ConduitClient.open` takes: the server, the identity's local state, the directory and Sync. */
export interface ConduitClientOptions {
  serverUrl: string;
  /** Root of local state; each identity gets `<home>/<identity>/`. */
  home: string;
  identity: string;
  /** Virgil API base URL (the local devstack's directory, or Virgil Cloud when absent). */
  virgilApiUrl?: string;
  /** Public key (base64) that signs cards in the directory; card signatures are verified against it. */
  virgilServicePublicKey?: string;
  /** Twilio Sync websocket (twilsock) URI; Twilio's own when absent. */
  twilsockUri?: string;
  /** Diagnostics (never plaintext, keys, passwords or tokens). */
  log?: (line: string) => void;
  /**
   * Asked for the user's password when the device's key store must be unlocked and nothing in
   * this session (login, register, unlock) has done it yet. Without it, key operations on a
   * locked device fail with UNAUTHENTICATED.
   */
  keyPassword?: () => Promise<string>;
  /**
   * OIDC mode: returns an ID token of the identity provider the server trusts, for this identity.
   * It is the bearer of every request; asked again when the token is within a minute of its
   * expiry or after the server refused it once. Start with `loginWithProvider`.
   */
  idToken?: IdTokenProvider;
}

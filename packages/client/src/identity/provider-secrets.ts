import type { KeyStore } from '../platform/key-store.js';

/** The key-store entry holding an identity provider's refresh token (sealed like the private key). */
export const REFRESH_TOKEN_ENTRY = '.conduit-oidc-refresh-token';

export async function saveRefreshToken(store: KeyStore, token: string): Promise<void> {
  if (await store.exists(REFRESH_TOKEN_ENTRY)) await store.update({ name: REFRESH_TOKEN_ENTRY, value: token });
  else await store.save({ name: REFRESH_TOKEN_ENTRY, value: token });
}

export async function loadRefreshToken(store: KeyStore): Promise<string | undefined> {
  return (await store.load(REFRESH_TOKEN_ENTRY))?.value;
}

/** True if there was one. */
export function forgetRefreshToken(store: KeyStore): Promise<boolean> {
  return store.remove(REFRESH_TOKEN_ENTRY);
}

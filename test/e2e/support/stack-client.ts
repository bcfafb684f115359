import type { ConduitClientOptions } from '@conduit/client';
import type { LocalStack } from '@conduit/devstack';

/** What a ConduitClient needs to reach `stack` as `identity`, with its local state under `home`. */
export function clientOn(stack: LocalStack, home: string, identity: string): ConduitClientOptions {
  return {
    serverUrl: stack.serverUrl,
    home,
    identity,
    virgilApiUrl: stack.virgilApiUrl,
    virgilServicePublicKey: stack.virgilServicePublicKey,
    twilsockUri: stack.twilsockUri,
  };
}

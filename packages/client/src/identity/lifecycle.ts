import type { EThree } from '@virgilsecurity/e3kit-node';
import type { IKeyEntry, IKeyEntryStorage } from 'virgil-sdk';
import { ConduitError, type KeyTransition } from '@conduit/shared';
import { signKeyTransition } from '../trust/key-transition.js';
import { fromVirgilError, virgil } from '../virgil/errors.js';
import { localPrivateKey } from '../virgil/local-key.js';

/**
 * The E3Kit side of an identity's key lifecycle (docs/identity.md). Every step that deletes the
 * local private key first keeps a copy of its (encrypted-store) entry and puts it back if the step
 * fails, so a failed restore or rotation never leaves the device without the key it had.
 */

/** Restores the key from the password backup; false when there is no backup. */
export async function restoreFromBackup(ethree: EThree, backupPassword: string): Promise<boolean> {
  try {
    await ethree.restorePrivateKey(backupPassword);
    return true;
  } catch (err) {
    if ((err as { name?: unknown }).name === 'PrivateKeyNoBackupError') return false;
    throw fromVirgilError(err, 'Restoring the private key');
  }
}

/** Replaces this device's key with the one in the backup (e.g. after a rotation on another device). */
export async function replaceFromBackup(
  ethree: EThree,
  store: IKeyEntryStorage,
  backupPassword: string,
): Promise<void> {
  await withRollback(ethree, store, async () => {
    await virgil('Removing the local key', () => ethree.cleanup());
    if (!(await restoreFromBackup(ethree, backupPassword))) {
      throw new ConduitError('CONFIG', 'No private key backup exists for this identity.');
    }
  });
}

/**
 * Replaces a lost or compromised key: a new key pair whose card supersedes the old one, and a new
 * backup of it. Group keys were sealed for the old card: each group's owner must re-add this
 * identity (GroupKeys.reAdd) before it can read the groups again.
 *
 * When the old private key is still on this device, a key-transition statement naming the new
 * card is signed with it (held in memory only, from before the old key is removed from the store)
 * and handed to `publishTransition`, so peers that pinned the old card follow to the new one. A
 * lost-key rotation has no such statement: peers see IDENTITY_CHANGED until they trust the new key.
 */
export async function rotate(
  ethree: EThree,
  store: IKeyEntryStorage,
  backupPassword: string,
  publishTransition: (transition: KeyTransition) => Promise<void>,
): Promise<void> {
  const oldKey = await localPrivateKey(ethree, store);
  const oldCard = oldKey && (await virgil('Looking up the current key', () => ethree.findUsers(ethree.identity)));
  await withRollback(ethree, store, async () => {
    await virgil('Removing the local key', () => ethree.cleanup());
    await virgil('Rotating the key', () => ethree.rotatePrivateKey());
  });
  const transition = oldKey && oldCard && (await signTransition(ethree, oldKey, oldCard.id));
  // The old backup holds the old key: replace it (a failure here is repaired by `backup` later).
  await virgil('Deleting the old key backup', () => ethree.resetPrivateKeyBackup());
  await virgil('Backing up the new key', () => ethree.backupPrivateKey(backupPassword));
  if (!transition) return;
  try {
    await publishTransition(transition);
  } catch (err) {
    throw new ConduitError(
      'DEPENDENCY_UNAVAILABLE',
      'The key was rotated, but its key-transition statement could not be published: peers will see IDENTITY_CHANGED until they trust the new key.',
      undefined,
      { cause: err },
    );
  }
}

async function signTransition(
  ethree: EThree,
  oldKey: NonNullable<Awaited<ReturnType<typeof localPrivateKey>>>,
  oldCardId: string,
): Promise<KeyTransition> {
  const newCard = await virgil('Looking up the new key', () => ethree.findUsers(ethree.identity));
  return signKeyTransition(ethree.virgilCrypto, oldKey, {
    identity: ethree.identity,
    oldCardId,
    next: { cardId: newCard.id, publicKey: ethree.virgilCrypto.exportPublicKey(newCard.publicKey) },
    at: new Date(),
  });
}

/** Backs the local key up under the password; 'exists' when a backup is there already. */
export async function backup(ethree: EThree, backupPassword: string): Promise<'created' | 'exists'> {
  try {
    await ethree.backupPrivateKey(backupPassword);
    return 'created';
  } catch (err) {
    if ((err as { name?: unknown }).name === 'CloudEntryExistsError') return 'exists';
    throw fromVirgilError(err, 'Backing up the private key');
  }
}

/** Re-encrypts the backup for a new password (WrongKeyknoxPasswordError -> INVALID_CREDENTIALS). */
export async function changeBackupPassword(ethree: EThree, oldBackup: string, newBackup: string): Promise<void> {
  await virgil('Changing the backup password', () => ethree.changePassword(oldBackup, newBackup));
}

/**
 * Deletes the backup, revokes the identity's cards and deletes the local key. Safe to repeat:
 * an identity without cards counts as unregistered already.
 */
export async function unregisterKey(ethree: EThree): Promise<void> {
  await virgil('Deleting the key backup', () => ethree.resetPrivateKeyBackup());
  try {
    await ethree.unregister();
  } catch (err) {
    if ((err as { name?: unknown }).name !== 'RegisterRequiredError') throw fromVirgilError(err, 'Revoking the key');
    await virgil('Removing the local key', () => ethree.cleanup());
  }
}

async function withRollback(ethree: EThree, store: IKeyEntryStorage, step: () => Promise<void>): Promise<void> {
  const name = ethree.identity;
  const previous: IKeyEntry | null = await store.load(name);
  try {
    await step();
  } catch (err) {
    if (previous && !(await store.exists(name))) {
      await store.save({ name, value: previous.value, meta: previous.meta }).catch(() => undefined);
    }
    throw err;
  }
}

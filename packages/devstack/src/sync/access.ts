/**
 * Client access control. With ACL off (Twilio's default) any token of the service may do anything;
 * with ACL on, an identity needs an explicit grant per object, and clients cannot create objects.
 */
import { forbidden } from './errors.js';
import type { Permissions, SyncObject } from './store.js';

export class Access {
  constructor(readonly aclEnabled: boolean) {}

  can(obj: SyncObject, identity: string, need: keyof Permissions): boolean {
    if (!this.aclEnabled) return true;
    const granted = obj.permissions.get(identity);
    return granted?.[need] === true;
  }

  require(obj: SyncObject, identity: string, need: keyof Permissions): void {
    if (!this.can(obj, identity, need)) throw forbidden();
  }

  requireCreate(): void {
    if (this.aclEnabled) throw forbidden();
  }
}

import { ConduitError, GroupId, Identity, MAX_GROUP_MEMBERS, syncMapOf } from '@conduit/shared';
import type { GroupRetentionPolicy, GroupRetentionView, GroupView } from '@conduit/shared';
import { groupNameOf, setGroupName } from '../names/names.js';
import { parseName, type OpenedName } from '../names/sealed-name.js';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { checkedRetentionPolicy } from './retention.js';

/**
 * Groups of this identity: creating, naming, membership. Membership changes go to the E3Kit group
 * key first, then to the server. Keeps the last view of each group it saw.
 */
export class Groups {
  private readonly views = new Map<string, GroupView>();

  constructor(private readonly session: ClientSession) {}

  /** The last view seen of the group, or a fresh one. */
  async view(groupId: GroupId): Promise<GroupView> {
    return this.views.get(groupId) ?? (await this.get(groupId));
  }

  async ownerOf(groupId: GroupId): Promise<Identity> {
    return (await this.view(groupId)).owner;
  }

  /** The group's Sync map. */
  async mapOf(groupId: GroupId): Promise<string> {
    return (await this.view(groupId)).syncMap || syncMapOf(groupId);
  }

  /**
   * Creates a group of this identity (the owner) and `members`, with a fresh E3Kit group key, and
   * names it (see rename) when `name` is given.
   */
  async create(members: string[], opts: { name?: string } = {}): Promise<GroupView> {
    const { api, identity } = this.session;
    const name = opts.name === undefined ? undefined : parseName(opts.name);
    const others = [...new Set(members)].filter((m) => m !== identity);
    for (const m of others) {
      if (!Identity.safeParse(m).success) throw new ConduitError('VALIDATION_FAILED', `Invalid identity: ${m}`);
    }
    if (others.length > MAX_GROUP_MEMBERS - 1) {
      throw new ConduitError('VALIDATION_FAILED', `A group holds at most ${MAX_GROUP_MEMBERS} participants.`);
    }
    const groupId = this.session.platform.randomHex(16);
    const keys = await this.session.keys();
    await keys.create(groupId, others);
    try {
      const view = await api.createGroup({ groupId, members: others });
      this.views.set(groupId, view);
      if (name === undefined) return view;
    } catch (err) {
      await keys.discard(groupId);
      throw err;
    }
    // The group exists from here: a failure leaves it unnamed, and `rename` can retry.
    await setGroupName(keys, api, groupId, name);
    return this.get(groupId);
  }

  /**
   * Owner only: names the group. The name is sealed with the group key's latest epoch and signed
   * by the owner; the server stores only the ciphertext and the latest one wins.
   */
  async rename(groupId: string, name: string): Promise<GroupView> {
    const gid = parseId(GroupId, groupId, 'group id');
    await this.owned(gid, 'rename the group');
    await setGroupName(await this.session.keys(), this.session.api, gid, name);
    return this.get(gid);
  }

  /** The group's name if it opens and was sealed by its (pinned) owner for it; else why not. */
  async nameOf(view: GroupView): Promise<OpenedName> {
    // Unnamed groups need no key (so listing them needs no password).
    return view.sealedName === undefined ? {} : groupNameOf(await this.session.keys(), view);
  }

  /** The groups this identity owns or belongs to. */
  async list(): Promise<GroupView[]> {
    const { groups } = await this.session.api.listGroups();
    for (const g of groups) this.views.set(g.groupId, g);
    return groups;
  }

  /**
   * Adds members (owner only): first to the E3Kit group key (they can read history), then on the
   * server (Sync access, presigned URLs). A retry after a failure half-way is safe.
   */
  async addMembers(groupId: string, members: string[]): Promise<GroupView> {
    const gid = parseId(GroupId, groupId, 'group id');
    const ids = [...new Set(members)].map((m) => parseId(Identity, m, `identity ${JSON.stringify(m)}`));
    const view = await this.owned(gid, 'add members');
    const others = ids.filter((m) => m !== view.owner);
    if (others.length === 0) throw new ConduitError('VALIDATION_FAILED', 'Name at least one identity to add.');
    const total = new Set([view.owner, ...view.members, ...others]).size;
    if (total > MAX_GROUP_MEMBERS) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `A group holds at most ${MAX_GROUP_MEMBERS} participants (E3Kit's limit); this would make ${total}. ` +
          'Split the members across several groups and send to each.',
      );
    }
    await (await this.session.keys()).add(gid, others);
    const updated = await this.session.api.addMembers(gid, { members: others });
    this.views.set(gid, updated);
    return updated;
  }

  /**
   * Removes a member (owner only): a new E3Kit key epoch without it (it cannot decrypt anything
   * sent afterwards), then the server drops its Sync access, URLs and pending acknowledgements.
   * A member naming itself leaves the group (server side only: the owner's next removal or
   * change rolls the key).
   */
  async removeMember(groupId: string, identity: string): Promise<void> {
    const gid = parseId(GroupId, groupId, 'group id');
    const who = parseId(Identity, identity, 'identity');
    if (who === this.session.identity) {
      const view = await this.get(gid);
      if (view.owner === who) throw new ConduitError('OWNER_CANNOT_LEAVE');
      await this.session.api.removeMember(gid, who);
      this.views.delete(gid);
      return;
    }
    await this.owned(gid, 'remove members');
    await (await this.session.keys()).remove(gid, who);
    await this.session.api.removeMember(gid, who);
    this.views.delete(gid);
  }

  /** Owner only: gives the group key again to a member that rotated its private key. */
  async reAddMember(groupId: string, identity: string): Promise<void> {
    const gid = parseId(GroupId, groupId, 'group id');
    const who = parseId(Identity, identity, 'identity');
    const view = await this.owned(gid, 're-add members');
    if (!view.members.includes(who)) {
      throw new ConduitError('VALIDATION_FAILED', `${who} is not a member of the group.`);
    }
    await (await this.session.keys()).reAdd(gid, who);
  }

  /** The group's retention rules (members): its own, and per class the one in effect and its source. */
  async retention(groupId: string): Promise<GroupRetentionView> {
    return this.session.api.groupRetention(parseId(GroupId, groupId, 'group id'));
  }

  /**
   * Owner only (the server decides: FORBIDDEN for members): replaces the group's retention rules;
   * `{}` clears them. A malformed rule is VALIDATION_FAILED before any request.
   */
  async setRetention(groupId: string, policy: GroupRetentionPolicy): Promise<GroupRetentionView> {
    const gid = parseId(GroupId, groupId, 'group id');
    return this.session.api.setGroupRetention(gid, checkedRetentionPolicy(policy));
  }

  async get(groupId: string): Promise<GroupView> {
    const id = parseId(GroupId, groupId, 'group id');
    const view = await this.session.api.getGroup(id).catch(async (err: unknown) => {
      // Deleted (or this identity is out of it): its key has no use left on this device.
      if (err instanceof ConduitError && err.code === 'GROUP_NOT_FOUND') await this.gone(id);
      throw err;
    });
    this.views.set(id, view);
    return view;
  }

  /**
   * Deletes a group this identity owns (docs/lifecycle.md#deleting-a-group-conduit-group-delete):
   * the server tombstones it and deletes what it stored; then the group's key material goes from
   * the directory (its Keyknox tickets) and this device. A repeat after the server's part finishes
   * the key deletion (the server then answers GROUP_NOT_FOUND).
   */
  async delete(groupId: string): Promise<{ groupId: GroupId; state: 'deleting' }> {
    const id = parseId(GroupId, groupId, 'group id');
    const keys = await this.session.keys(); // before the server's part: a locked key store refuses first
    try {
      await this.session.api.deleteGroup(id);
    } catch (err) {
      // Already deleted by an earlier call whose key deletion did not finish: finish it.
      if (!(err instanceof ConduitError && err.code === 'GROUP_NOT_FOUND')) throw err;
      this.views.delete(id);
      await keys.drop(id);
      throw err;
    }
    this.views.delete(id);
    await keys.drop(id);
    return { groupId: id, state: 'deleting' };
  }

  /** The server no longer knows the group for this identity: forget its view and its key. */
  private async gone(groupId: GroupId): Promise<void> {
    this.views.delete(groupId);
    await this.session.dropGroupKey(groupId);
  }

  /** The group's view, if this identity owns it; E3Kit lets only a group's creator change it. */
  private async owned(groupId: GroupId, action: string): Promise<GroupView> {
    const view = await this.get(groupId);
    if (view.owner !== this.session.identity) {
      throw new ConduitError(
        'FORBIDDEN',
        `Only the group owner (${view.owner}) can ${action}: E3Kit lets only a group's creator change it. Ask the owner.`,
      );
    }
    return view;
  }
}

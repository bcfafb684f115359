import { ConduitError, type GroupView } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import type { NamedDevice, OpenedName } from '@conduit/client';
import { pickByName, resolveDevice, resolveGroup, type NameSource } from './resolve.js';

const G1 = 'a'.repeat(32);
const G2 = 'b'.repeat(32);
const G3 = 'c'.repeat(32);

const view = (groupId: string): GroupView => ({
  groupId,
  owner: 'alice',
  members: [],
  syncMap: `g-${groupId}`,
  createdAt: new Date(0).toISOString(),
});

/** A client whose groups open to `names` (undefined: unnamed; 'forged': does not verify). */
function source(names: Record<string, string | undefined>, devices: NamedDevice[] = []) {
  const calls = { listGroups: 0 };
  const src: NameSource = {
    listGroups: async () => {
      calls.listGroups++;
      return Object.keys(names).map(view);
    },
    groupName: async (v): Promise<OpenedName> => {
      const name = names[v.groupId];
      if (name === 'forged') return { unverified: 'not sealed by the owner alice' };
      return name === undefined ? {} : { name };
    },
    listDevices: async () => devices,
  };
  return { src, calls };
}

const codeOf = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConduitError);
  return err as ConduitError;
};

const thrown = (fn: () => unknown): ConduitError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConduitError);
    return e as ConduitError;
  }
  throw new Error('expected a ConduitError');
};

describe('pickByName', () => {
  const candidates = [
    { id: 'dev-aaaaaaaa', name: 'Laptop' },
    { id: 'dev-bbbbbbbb', name: 'laptop ' },
    { id: 'dev-cccccccc', name: 'Phone' },
    { id: 'dev-dddddddd' },
  ];

  it('takes an id as is and a unique name case-insensitively', () => {
    expect(pickByName('dev-dddddddd', candidates, 'device')).toBe('dev-dddddddd');
    expect(pickByName('PHONE', candidates, 'device')).toBe('dev-cccccccc');
    expect(pickByName(' phone', candidates, 'device')).toBe('dev-cccccccc');
  });

  it('refuses an ambiguous name with NAME_AMBIGUOUS listing the candidates', () => {
    const err = thrown(() => pickByName('laptop', candidates, 'device'));
    expect(err.code).toBe('NAME_AMBIGUOUS');
    expect(err.details).toEqual({ candidates: ['dev-aaaaaaaa', 'dev-bbbbbbbb'] });
    expect(err.message).toContain('dev-aaaaaaaa, dev-bbbbbbbb');
  });

  it('answers no match with the not-found error of the kind, and a hint to list', () => {
    expect(() => pickByName('tablet', candidates, 'device')).toThrow(/conduit device ls/);
    expect(thrown(() => pickByName('ward 3', [], 'group')).code).toBe('GROUP_NOT_FOUND');
    expect(thrown(() => pickByName('tablet', candidates, 'device')).code).toBe('DEVICE_NOT_FOUND');
  });
});

describe('resolveGroup', () => {
  it('passes a group id through without listing (no key needed)', async () => {
    const { src, calls } = source({ [G1]: 'Oncology' });
    expect(await resolveGroup(src, G2)).toBe(G2);
    expect(calls.listGroups).toBe(0);
  });

  it('finds the group by its verified name', async () => {
    const { src } = source({ [G1]: 'Oncology ward 3', [G2]: 'Cardiology', [G3]: undefined });
    expect(await resolveGroup(src, 'oncology WARD 3')).toBe(G1);
    expect(await resolveGroup(src, 'Cardiology')).toBe(G2);
  });

  it('never matches a name that did not verify', async () => {
    const { src } = source({ [G1]: 'forged', [G2]: 'Cardiology' });
    expect((await codeOf(resolveGroup(src, 'forged'))).code).toBe('GROUP_NOT_FOUND');
  });

  it('reports two groups of one name as ambiguous', async () => {
    const { src } = source({ [G1]: 'Team', [G2]: 'team', [G3]: 'Other' });
    const err = await codeOf(resolveGroup(src, 'TEAM'));
    expect(err.code).toBe('NAME_AMBIGUOUS');
    expect(err.details).toEqual({ candidates: [G1, G2] });
  });
});

describe('resolveDevice', () => {
  const device = (deviceId: string, name?: string): NamedDevice => ({
    identity: 'alice',
    deviceId,
    createdAt: new Date(0).toISOString(),
    ...(name === undefined ? {} : { name }),
  });

  it('resolves ids and names of the caller’s devices only', async () => {
    const { src } = source({}, [device('laptop-id-1', "alice's laptop"), device('phone-id-22')]);
    expect(await resolveDevice(src, 'phone-id-22')).toBe('phone-id-22');
    expect(await resolveDevice(src, "ALICE'S LAPTOP")).toBe('laptop-id-1');
    expect((await codeOf(resolveDevice(src, 'someone-elses-id'))).code).toBe('DEVICE_NOT_FOUND');
  });
});

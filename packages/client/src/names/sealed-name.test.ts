import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { openName, parseName, sealName, type NameCipher } from './sealed-name.js';

// A stand-in cipher: reversible, and refusing what another "key" sealed (first byte).
const cipher = (key: number): { encrypt: NameCipher; decrypt: NameCipher } => ({
  encrypt: async (p) => Buffer.concat([Buffer.from([key]), p]),
  decrypt: async (s) => {
    if (s[0] !== key) throw new Error('signature does not verify');
    return s.subarray(1);
  },
});

describe('sealed names', () => {
  const owner = cipher(1);
  const G1 = '1'.repeat(32);
  const G2 = '2'.repeat(32);

  it('round-trips a name bound to its group', async () => {
    const sealed = await sealName('group', G1, '  Oncology ward 3 / patient X ', owner.encrypt);
    expect(Buffer.from(sealed, 'base64').toString()).not.toContain('"name":"  ');
    expect(await openName('group', G1, sealed, owner.decrypt, 'alice')).toEqual({
      name: 'Oncology ward 3 / patient X',
    });
    expect(await openName('group', G1, undefined, owner.decrypt, 'alice')).toEqual({});
  });

  it('does not show a name sealed by another key, moved to another group or of another kind', async () => {
    const byMember = await sealName('group', G1, 'Evil', cipher(2).encrypt);
    expect(await openName('group', G1, byMember, owner.decrypt, 'the owner alice')).toEqual({
      unverified: 'the name does not open with your key or was not sealed by the owner alice',
    });
    const moved = await sealName('group', G2, 'Other group', owner.encrypt);
    expect((await openName('group', G1, moved, owner.decrypt, 'alice')).name).toBeUndefined();
    const device = await sealName('device', G1, 'laptop', owner.encrypt);
    expect(await openName('group', G1, device, owner.decrypt, 'alice')).toEqual({
      unverified: 'the sealed name belongs to another device',
    });
    const garbage = (await owner.encrypt(Buffer.from('{"v":1'))).toString('base64');
    expect(await openName('group', G1, garbage, owner.decrypt, 'alice')).toEqual({
      unverified: 'the sealed name is malformed',
    });
  });

  it('refuses empty, overlong, control-character and id-shaped names', () => {
    for (const bad of ['', '   ', 'x'.repeat(101), 'a\nb', 'f'.repeat(32)]) {
      expect(() => parseName(bad)).toThrow(ConduitError);
    }
    expect(parseName(' ok ')).toBe('ok');
  });
});

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { objectKeyOf, syncMapOf, type PointerStatus } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// The demo flow on the real local stack: unmodified e3kit-node, twilio-sync, twilio and AWS SDK
// against the Virgil directory, the Sync emulator, s3rver and Redis. Nothing is mocked.
describe('end to end: sharing a file through the local stack', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };

  const waitForState = async (client: ConduitClient, pointerId: string, state: PointerStatus['state']) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await client.status(pointerId);
      if (status.state === state) return status;
      if (Date.now() > deadline) throw new Error(`pointer stayed ${status.state}, expected ${state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-e2e-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers byte-identical to every device, purges Sync only after the last ack, stores only ciphertext', async () => {
    const alice = await open('alice', 'alice-laptop');
    await alice.register('alice password 1');
    const bobPhone = await open('bob', 'bob-phone');
    await bobPhone.register('bob password 12');
    // Bob's second device restores his key from the password backup and acknowledges on its own.
    const bobLaptop = await open('bob', 'bob-laptop');
    await bobLaptop.login('bob password 12');
    const carol = await open('carol', 'carol-desk');
    await carol.register('carol password');

    const group = await alice.createGroup(['bob']);
    expect(group.members).toEqual(['bob']);

    const marker = Buffer.from('PATIENT-RECORD-PLAINTEXT-MARKER ');
    const plaintext = Buffer.concat([marker, randomBytes(200_000), marker]);
    const source = join(dir, 'lab-results.pdf');
    await writeFile(source, plaintext);
    const sent = await alice.sendFile(group.groupId, source);
    expect(sent.syncMap).toBe(syncMapOf(group.groupId));
    expect(await stack.inspect.syncItemExists(sent.syncMap, sent.itemKey)).toBe(true);

    // S3 holds ciphertext only: no window of the plaintext, not even the marker.
    const stored = await stack.inspect.readObject(objectKeyOf(group.groupId, sent.objectId));
    expect(stored.length).toBe(sent.size);
    expect(stored.includes(marker)).toBe(false);
    expect(stored.includes(plaintext.subarray(1000, 1032))).toBe(false);

    const status = await alice.status(sent.pointerId);
    expect(status.expected.map((e) => e.identity).sort()).toEqual(['bob', 'bob']);
    expect(status.state).toBe('pending');

    const first = await bobPhone.receiveNext(group.groupId, { outDir: join(dir, 'phone-inbox'), timeoutMs: 15_000 });
    expect(first.sender.identity).toBe('alice');
    expect(first.name).toBe('lab-results.pdf');
    expect((await readFile(first.path)).equals(plaintext)).toBe(true);

    // One of two endpoints acknowledged: the Twilio copy must still be there.
    expect((await alice.status(sent.pointerId)).state).toBe('pending');
    expect(await stack.inspect.syncItemExists(sent.syncMap, sent.itemKey)).toBe(true);

    const second = await bobLaptop.receiveNext(group.groupId, {
      outDir: join(dir, 'laptop-inbox'),
      timeoutMs: 15_000,
    });
    expect(
      createHash('sha256')
        .update(await readFile(second.path))
        .digest('hex'),
    ).toBe(createHash('sha256').update(plaintext).digest('hex'));

    const purged = await waitForState(alice, sent.pointerId, 'purged');
    expect(purged.acknowledged).toHaveLength(2);
    // Each acknowledgement carries the receiving device's signature, checked against bob's card.
    expect(purged.delivery.map((d) => d.receipt)).toEqual(['verified', 'verified']);
    expect(await stack.inspect.syncItemExists(sent.syncMap, sent.itemKey)).toBe(false);

    // A non-member can neither see the pointer's status nor read the group, nor learn they exist.
    await expect(carol.status(sent.pointerId)).rejects.toMatchObject({ code: 'POINTER_NOT_FOUND' });
    await expect(carol.getGroup(group.groupId)).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
  });

  it('runs the main job (`conduit demo`) to a clean exit', async () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'demo', '--size', '64'], {
      timeout: 60_000,
      env: { ...process.env, CONDUIT_HOME: join(dir, 'demo-home') },
    });
    expect(stdout).toContain('the Sync item is gone');
    expect(stdout).toContain('demo passed');
  });

  it('runs the demo with device-code sign-ins at the local OpenID Provider (`conduit demo --oidc`)', async () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'demo', '--oidc', '--size', '64', '--json'], {
      timeout: 90_000,
      env: { ...process.env, CONDUIT_HOME: join(dir, 'demo-oidc-home') },
    });
    const { ok, steps } = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      ok: boolean;
      steps: { step: string; detail?: string }[];
    };
    expect(ok).toBe(true);
    // The provider's subjects, mapped (identity mapping v1), sent and received the file.
    expect(steps.map((s) => s.detail)).toEqual(
      expect.arrayContaining(['identity auth0_7cabc', 'identity jane@example.org']),
    );
    expect(steps.map((s) => s.step)).toContain("each receipt is signed by its receiver's pinned key");
  });
});

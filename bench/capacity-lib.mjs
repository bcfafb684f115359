/* global TextEncoder */
// Helpers of the capacity bench: dev sessions minted like the API mints them, and the Redis
// memory each unit of state costs, read with MEMORY USAGE (exact per key, SAMPLES 0).
import { SHARDS } from '@conduit/server';
import { SignJWT } from 'jose';

/**
 * A dev-mode session token for an endpoint, signed with the API's CONDUIT_SESSION_SECRET exactly
 * as identity/auth/session-tokens.ts issues them after an OPAQUE login (epoch 0).
 */
export async function mintSession(secret, identity, deviceId) {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ dev: deviceId, sep: 0 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity)
    .setIssuer('conduit-dev')
    .setAudience('conduit-api')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(new TextEncoder().encode(secret));
}

const SAMPLE = 500;

/**
 * Bytes of every key under the deployment prefix but BullMQ's (the population's own state). BullMQ's
 * keys sit under the hash-tagged `{<prefix>bull}`, outside `<prefix>*`; the filter stays in case a
 * layout files them under the prefix again.
 */
export async function stateBytes(redis, keys) {
  const names = (await scanAll(redis, `${keys.prefix}*`)).filter((k) => !k.startsWith(keys.bullPrefix()));
  let sum = 0;
  for (let i = 0; i < names.length; i += 1000) sum += await usage(redis, names.slice(i, i + 1000));
  return sum;
}

async function usage(redis, keyNames) {
  const out = await redis.pipeline(keyNames.map((k) => ['memory', 'usage', k, 'SAMPLES', '0'])).exec();
  return out.reduce((sum, [err, n]) => sum + (err || n === null ? 0 : Number(n)), 0);
}

/** A pointer's own keys: those filed under its group's shard, and its id -> group entry. */
const pointerKeys = (keys, groupId, id) => [
  keys.pointer(groupId, id),
  keys.pointerExpected(groupId, id),
  keys.pointerAcked(groupId, id),
  keys.pointerReceipts(groupId, id),
  keys.pointerAnomalies(groupId, id),
  keys.pointerDropped(groupId, id),
  keys.pointerGroup(id),
];

/** The group a pointer the bench created belongs to (it keeps the map: the ledger needs it). */
function groupOfPointer(pointerGroups, id) {
  const groupId = pointerGroups.get(id);
  if (groupId === undefined) throw new Error(`no group known for pointer ${id}`);
  return groupId;
}

async function scanAll(redis, match) {
  const found = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 2000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/**
 * Bytes per unit, each from the keys that unit owns:
 * - a pending pointer: its own keys (file pointers nobody acknowledged yet), its id -> group
 *   entry, plus its share of the per-shard and per-group pending indexes;
 * - a purged pointer: its own keys and id -> group entry (a sample of file pointers), kept until
 *   the ledger retention ends;
 * - a record version: every group's records keys (feed, seq, heads, versions, pointers, histories)
 *   over the number of versions in the feeds;
 * - dayPerRecord: the INFO used_memory growth of the day, less what the purged and pending file
 *   pointers explain, per record version.
 */
export async function measureMemory(redis, keys, { groups, filePointers, pendingPointers, pointerGroups, before }) {
  const groupOf = (id) => groupOfPointer(pointerGroups, id);
  const pendingSample = pendingPointers.slice(0, SAMPLE);
  const states = await redis
    .pipeline(pendingSample.map((id) => ['hget', keys.pointer(groupOf(id), id), 'state']))
    .exec();
  const pendingIds = pendingSample.filter((_, i) => states[i][1] === 'pending');
  const own = await usage(
    redis,
    pendingIds.flatMap((id) => pointerKeys(keys, groupOf(id), id)),
  );
  const counts = await redis.pipeline(SHARDS.map((shard) => ['zcard', keys.pendingPointers(shard)])).exec();
  const pendingCount = counts.reduce((sum, [err, n]) => sum + (err ? 0 : Number(n)), 0);
  const indexes =
    (await usage(redis, [
      ...SHARDS.map((shard) => keys.pendingPointers(shard)),
      ...groups.map((g) => keys.groupPending(g)),
    ])) / Math.max(1, pendingCount);
  const pendingPointer = pendingIds.length ? Math.round(own / pendingIds.length + indexes) : 'n/a';

  const purgedSample = filePointers.slice(0, SAMPLE);
  const purged = await usage(
    redis,
    purgedSample.flatMap((id) => pointerKeys(keys, groupOf(id), id)),
  );
  const ttl = purgedSample.length ? await redis.ttl(keys.pointer(groupOf(purgedSample[0]), purgedSample[0])) : -2;
  const purgedPointer = purgedSample.length ? Math.round(purged / purgedSample.length) : 'n/a';

  const recordKeyNames = await scanAll(redis, `${keys.prefix}grp:*:rec:*`);
  const feeds = recordKeyNames.filter((k) => k.endsWith(':rec:feed'));
  const lengths = await redis.pipeline(feeds.map((k) => ['zcard', k])).exec();
  const versions = lengths.reduce((s, [, n]) => s + Number(n), 0);
  let recordBytes = 0;
  for (let i = 0; i < recordKeyNames.length; i += 1000)
    recordBytes += await usage(redis, recordKeyNames.slice(i, i + 1000));
  const recordVersion = versions ? Math.round(recordBytes / versions) : 'n/a';
  const feedOnly = versions ? Math.round((await usage(redis, feeds)) / versions) : 'n/a';

  const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const explained =
    (typeof purgedPointer === 'number' ? purgedPointer * filePointers.length : 0) +
    (typeof pendingPointer === 'number' ? pendingPointer * pendingPointers.length : 0);
  const dayPerRecord = versions ? Math.round((after - before - explained) / versions) : 'n/a';
  return { pendingPointer, purgedPointer, purgedTtlSeconds: ttl, recordVersion, feedOnly, dayPerRecord, versions };
}

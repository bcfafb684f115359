/* global process, performance, setInterval, clearInterval */
// One watching endpoint of the records bench's latency part, in a process of its own (as a real
// device is): logs in as a new device of its identity, watches the group's records and reports
// each `change` (key, wall-clock time in ms) to the parent over IPC, in batches every 50 ms.
// Parent messages: {stop: true}. Child messages: {ready: true}, {changes: [[key, at], ...]}.
import { ConduitClient } from '@conduit/client';

const { STACK_ENV, WATCH_HOME, WATCH_IDENTITY, WATCH_GROUP, WATCH_PASSWORD } = process.env;
const env = JSON.parse(STACK_ENV);
const client = await ConduitClient.open({
  serverUrl: env.CONDUIT_SERVER_URL,
  virgilApiUrl: env.CONDUIT_VIRGIL_API_URL,
  virgilServicePublicKey: env.CONDUIT_VIRGIL_SERVICE_KEY,
  twilsockUri: env.CONDUIT_TWILSOCK_URI,
  home: WATCH_HOME,
  identity: WATCH_IDENTITY,
});
await client.login(WATCH_PASSWORD);
const records = await client.records(WATCH_GROUP);
let batch = [];
records.onChange((e) => batch.push([e.key, performance.timeOrigin + performance.now()]));
const stop = await records.watch();
const flush = setInterval(() => {
  if (batch.length === 0) return;
  process.send({ changes: batch });
  batch = [];
}, 50);
process.on('message', async (message) => {
  if (!message?.stop) return;
  clearInterval(flush);
  if (batch.length > 0) process.send({ changes: batch });
  await stop();
  await client.close();
  process.disconnect();
});
process.send({ ready: true });

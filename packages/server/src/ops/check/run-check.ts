import { ConduitError, formatRetentionRule } from '@conduit/shared';
import { closeRedis, connectRedis } from '../../adapters/redis/connection.js';
import { S3ObjectStore } from '../../adapters/s3/s3-object-store.js';
import { DEFAULT_RETENTION, DEFAULTS, type ServerConfig } from '../../config.js';
import { productionRefusals } from '../../startup/production.js';
import { CHECK_TIMEOUT_MS, withTimeout, type CheckName } from '../../startup/refusal.js';
import { checkBucketRules, checkBucketVersioning } from './bucket-checks.js';
import { formatResult, type CheckResult } from './check-result.js';

/** The production checks (startup/production.ts), each reported, in the docs' order. */
const PRODUCTION_CHECKS: readonly CheckName[] = [
  'sign-up',
  'tls',
  'sync-acl',
  'virgil-key',
  'redis-eviction',
  'redis-persistence',
];

/**
 * `conduit-server check`: a read-only look at a deployment from its environment (docs/deploy.md).
 * Reads configuration, pings Redis, reads its durability settings, the Sync service's ACL, the
 * Virgil key, the bucket and its rules; writes nothing anywhere.
 */
export async function runChecks(load: () => ServerConfig, timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult[]> {
  let config: ServerConfig;
  try {
    config = load();
  } catch (err) {
    // loadConfig names the variables, never their values.
    if (err instanceof ConduitError && err.code === 'CONFIG') {
      return [{ status: 'fail', check: 'config', detail: err.message }];
    }
    throw err;
  }
  const results: CheckResult[] = [{ status: 'ok', check: 'config', detail: `loaded (${config.mode} mode)` }];
  const [production, redis, bucket] = await Promise.all([
    productionChecks(config, timeoutMs),
    checkRedisPing(config, timeoutMs),
    checkBucket(config, timeoutMs),
  ]);
  results.push(...production, redis, ...bucket, retentionSummary(config));
  return results;
}

/**
 * Every production check, passed or not. A check that could not reach its dependency fails in
 * any mode; a setting production mode refuses fails there and warns in development.
 */
async function productionChecks(config: ServerConfig, timeoutMs: number): Promise<CheckResult[]> {
  const refusals = await productionRefusals(config, timeoutMs);
  return PRODUCTION_CHECKS.map((check) => {
    const refusal = refusals.find((r) => r.check === check);
    if (!refusal) return { status: 'ok', check, detail: 'passes the production check' };
    const unreachable = refusal.reason.startsWith('could not be checked');
    const status = unreachable || config.mode === 'production' ? 'fail' : 'warn';
    const settings = refusal.settings.length > 0 ? ` [${refusal.settings.join(', ')}]` : '';
    return { status, check, detail: `${refusal.reason}${settings}` };
  });
}

async function checkRedisPing(config: ServerConfig, timeoutMs: number): Promise<CheckResult> {
  const redis = connectRedis(config.redisUrl, 'command');
  // Connection errors are reported below, by outcome only (their text can carry the URL's password).
  redis.on('error', () => undefined);
  try {
    const reply = await withTimeout(redis.ping(), timeoutMs, 'Redis');
    return { status: reply === 'PONG' ? 'ok' : 'fail', check: 'redis', detail: `PING answered ${reply}` };
  } catch {
    return { status: 'fail', check: 'redis', detail: 'Redis at REDIS_URL did not answer PING' };
  } finally {
    redis.disconnect();
    await closeRedis(redis).catch(() => undefined);
  }
}

/** HeadBucket, then the bucket's rules and versioning, with the server's own credentials. */
async function checkBucket(config: ServerConfig, timeoutMs: number): Promise<CheckResult[]> {
  const store = new S3ObjectStore(config.s3);
  try {
    try {
      await withTimeout(store.ping(), timeoutMs, 'S3');
    } catch {
      return [
        { status: 'fail', check: 's3', detail: 'HeadBucket on S3_BUCKET failed (bucket, endpoint or credentials)' },
      ];
    }
    const [rules, versioning] = await Promise.all([
      withTimeout(checkBucketRules(store, config.uploads?.ttlSeconds ?? DEFAULTS.uploadTtlSeconds), timeoutMs, 'S3'),
      withTimeout(checkBucketVersioning(store), timeoutMs, 'S3'),
    ]);
    return [{ status: 'ok', check: 's3', detail: 'HeadBucket on S3_BUCKET answered' }, ...rules, versioning];
  } catch {
    return [{ status: 'fail', check: 's3-rules', detail: "the bucket's lifecycle or versioning could not be read" }];
  } finally {
    store.close();
  }
}

/** What retention does in this deployment (config.retention over DEFAULT_RETENTION and DEFAULTS). */
function retentionSummary(config: ServerConfig): CheckResult {
  const r = config.retention ?? {};
  const rule = (kind: 'files' | 'records' | 'audit') => formatRetentionRule(r[kind] ?? DEFAULT_RETENTION[kind]);
  const interval = r.intervalSeconds ?? DEFAULTS.retentionIntervalSeconds;
  const rate = r.deletesPerSecond ?? DEFAULTS.retentionDeletesPerSecond;
  const sent = r.sentFiles ?? DEFAULTS.erasureSentFiles;
  return {
    status: 'ok',
    check: 'retention',
    detail:
      `files ${rule('files')}, records ${rule('records')}, audit ${rule('audit')}; runs every ${interval} s, ` +
      `at most ${rate} deletes/s; identity deletion ${sent === 'keep' ? 'keeps' : 'deletes'} the files it sent`,
  };
}

const USAGE = 'usage: conduit-server check [--json]';

/** Parses the arguments, runs the checks, prints; the exit code: 0 nothing failed, 1 something did, 2 usage. */
export async function checkCommand(
  args: readonly string[],
  load: () => ServerConfig,
  print: (text: string) => void,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<number> {
  const json = args.includes('--json');
  if (args.some((a) => a !== '--json')) {
    print(USAGE);
    return 2;
  }
  const results = await runChecks(load, timeoutMs);
  const failed = results.some((r) => r.status === 'fail');
  if (json) print(JSON.stringify({ ok: !failed, checks: results }));
  else for (const r of results) print(formatResult(r));
  return failed ? 1 : 0;
}

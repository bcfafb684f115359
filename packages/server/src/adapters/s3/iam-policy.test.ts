/**
 * The committed IAM policy of the server's role grants exactly the S3 actions the server's code can
 * issue: every @aws-sdk/client-s3 command it constructs (sent itself or presigned for clients).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../..', import.meta.url));
const POLICY = fileURLToPath(new URL('../../../../../deploy/iam/conduit-server-s3.json', import.meta.url));
const OBJECTS = 'arn:aws:s3:::BUCKET/*';
const BUCKET = 'arn:aws:s3:::BUCKET';

/**
 * IAM actions per command (AWS's "Actions, resources, and condition keys for Amazon S3"). HeadObject
 * needs s3:ListBucket on the bucket as well: without it S3 answers a missing key with 403, not the
 * 404 the server tells "not uploaded yet" by.
 */
const ACTIONS: Record<string, { object?: string[]; bucket?: string[] }> = {
  PutObjectCommand: { object: ['s3:PutObject'] },
  GetObjectCommand: { object: ['s3:GetObject'] },
  HeadObjectCommand: { object: ['s3:GetObject'], bucket: ['s3:ListBucket'] },
  DeleteObjectCommand: { object: ['s3:DeleteObject'] },
  CreateMultipartUploadCommand: { object: ['s3:PutObject'] },
  UploadPartCommand: { object: ['s3:PutObject'] },
  CompleteMultipartUploadCommand: { object: ['s3:PutObject'] },
  AbortMultipartUploadCommand: { object: ['s3:AbortMultipartUpload'] },
  HeadBucketCommand: { bucket: ['s3:ListBucket'] },
  ListObjectsV2Command: { bucket: ['s3:ListBucket'] },
  // DeleteObjects has no action of its own: each key is authorised as s3:DeleteObject.
  DeleteObjectsCommand: { object: ['s3:DeleteObject'] },
  ListMultipartUploadsCommand: { bucket: ['s3:ListBucketMultipartUploads'] },
  GetBucketLifecycleConfigurationCommand: { bucket: ['s3:GetLifecycleConfiguration'] },
  GetBucketVersioningCommand: { bucket: ['s3:GetBucketVersioning'] },
};

/** The server's production sources: tests and test helpers (which create buckets) excluded. */
function productionSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : productionSources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Names a file imports from @aws-sdk/client-s3 and the command classes among them it constructs. */
function s3Usage(file: string): { imported: string[]; constructed: string[] } {
  const text = readFileSync(file, 'utf8');
  const imported = [...text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/client-s3'/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((name) => name.replace(/^\s*type\s+/, '').trim())
      .filter(Boolean),
  );
  const commands = imported.filter((name) => name.endsWith('Command'));
  const constructed = commands.filter((name) => new RegExp(`new ${name}\\(`).test(text));
  return { imported, constructed };
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string;
  Condition?: unknown;
}

describe('deploy/iam/conduit-server-s3.json', () => {
  const policy = JSON.parse(readFileSync(POLICY, 'utf8')) as { Version: string; Statement: Statement[] };
  const files = productionSources(SRC);
  const usage = files.map((file) => ({ file: relative(SRC, file), ...s3Usage(file) }));
  const commands = new Set(usage.flatMap((u) => u.constructed));

  it('finds the commands the server constructs, and knows the IAM actions of each', () => {
    expect(commands.size).toBeGreaterThanOrEqual(14);
    expect(
      [...commands].filter((c) => !(c in ACTIONS)),
      'commands without an IAM mapping',
    ).toEqual([]);
    // No paginator, waiter or higher-level helper issues requests the scan would not see.
    const helpers = usage.flatMap((u) =>
      u.imported.filter((n) => /^(paginate|waitUntil|waitFor)/.test(n)).map((n) => `${u.file}: ${n}`),
    );
    expect(helpers).toEqual([]);
  });

  it('grants exactly those actions: object actions on BUCKET/*, bucket actions on the bucket only', () => {
    const want = { object: new Set<string>(), bucket: new Set<string>() };
    for (const command of commands) {
      for (const action of ACTIONS[command]?.object ?? []) want.object.add(action);
      for (const action of ACTIONS[command]?.bucket ?? []) want.bucket.add(action);
    }
    expect(policy.Version).toBe('2012-10-17');
    for (const statement of policy.Statement) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      for (const action of statement.Action) expect(action).not.toContain('*');
    }
    const granted = (resource: string) =>
      policy.Statement.filter((s) => s.Resource === resource)
        .flatMap((s) => s.Action)
        .sort();
    expect(policy.Statement.every((s) => s.Resource === OBJECTS || s.Resource === BUCKET)).toBe(true);
    expect(granted(OBJECTS)).toEqual([...want.object].sort());
    expect(granted(BUCKET)).toEqual([...want.bucket].sort());
  });
});

/**
 * Which imagehub a CLI command talks to: the one `npm start` runs on this machine, or a deployment on AWS.
 *
 *  - AWS when a table is named (`--table`, `IMAGEHUB_TABLE`) or CDK's outputs file is given (`--outputs
 *    cdk-outputs.json`, written by `npm run deploy`). Credentials and region come from the SDK's usual chain
 *    (`AWS_PROFILE`, `AWS_REGION`, …); `AWS_ENDPOINT_URL_*` can point at S3/DynamoDB-compatible services.
 *  - Otherwise the local stack: `npm start` writes its endpoints to `{data folder}/endpoints.json` while it runs
 *    (data folder: `--data`, else `IMAGEHUB_DATA`, else `.imagehub`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createS3Client } from '../store/clients.ts';

type Env = Record<string, string | undefined>;

/** What `npm start` publishes about itself for the CLI. */
export interface LocalEndpoints {
  url: string;
  s3Endpoint: string;
  dynamoEndpoint: string;
  region: string;
  ingestBucket: string;
  derivativeBucket: string;
  tableName: string;
  pid: number;
  /** The embedded stand-ins accept fixed credentials; external endpoints use the usual credential chain. */
  standInCredentials: boolean;
}

export const ENDPOINTS_FILE = 'endpoints.json';
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The options every command takes to name its imagehub (parseArgs form), and their help lines. */
export const TARGET_OPTIONS = {
  data: { type: 'string' },
  table: { type: 'string' },
  outputs: { type: 'string' },
  region: { type: 'string' },
} as const;

export function targetHelp(extra = ''): string {
  return `Which imagehub:
  --data DIR           the local imagehub started by \`npm start\` with this data folder (default $IMAGEHUB_DATA or .imagehub)
  --table NAME         an AWS deployment's metadata table (or $IMAGEHUB_TABLE); credentials from AWS_PROFILE etc.
  --outputs FILE       an AWS deployment, from the outputs file \`npm run deploy\` writes (cdk-outputs.json)
${extra}  --region REGION      AWS region (default from the AWS configuration)`;
}

/** Common to every command: `--json` and `--help`. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface TargetOptions {
  data?: string;
  table?: string;
  bucket?: string;
  outputs?: string;
  region?: string;
}

export interface Target {
  kind: 'local' | 'aws';
  /** For messages: `the local imagehub at http://localhost:3000`, `AWS table imagehub-…`. */
  description: string;
  tableName: string;
  ingestBucket?: string;
  publicUrl?: string;
  db: DynamoDBDocumentClient;
  s3: S3Client;
  close(): void;
}

/** A problem the user can fix, said in plain words (the CLI prints it without a stack trace). */
export class UsageError extends Error {}

export function resolveTarget(options: TargetOptions, env: Env = process.env): Target {
  const table = options.table ?? env.IMAGEHUB_TABLE;
  if (table || options.outputs) return awsTarget(options, env);
  return localTarget(resolve(options.data ?? env.IMAGEHUB_DATA ?? '.imagehub'), env);
}

function localTarget(dataDir: string, env: Env): Target {
  const file = join(dataDir, ENDPOINTS_FILE);
  if (!existsSync(file)) {
    throw new UsageError(
      `no running imagehub found in ${dataDir}: start one with \`npm start\` (or pass --data DIR), or name an AWS deployment with --table NAME or --outputs cdk-outputs.json`,
    );
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
  if (!processAlive(endpoints.pid)) {
    throw new UsageError(`the imagehub in ${dataDir} is not running any more (process ${endpoints.pid} is gone): start it with \`npm start\``);
  }
  const clientEnv = { ...env, AWS_ENDPOINT_URL_S3: endpoints.s3Endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoEndpoint };
  const local = { region: endpoints.region, maxAttempts: 2, ...(endpoints.standInCredentials ? { credentials: LOCAL_CREDENTIALS } : {}) };
  const s3 = createS3Client(clientEnv, local);
  const db = createDocumentClient(clientEnv, local);
  return {
    kind: 'local',
    description: `the local imagehub at ${endpoints.url}`,
    tableName: endpoints.tableName,
    ingestBucket: endpoints.ingestBucket,
    publicUrl: endpoints.url,
    s3,
    db,
    close: () => {
      s3.destroy();
      db.destroy();
    },
  };
}

function awsTarget(options: TargetOptions, env: Env): Target {
  const outputs = options.outputs ? readStackOutputs(options.outputs) : {};
  const tableName = options.table ?? env.IMAGEHUB_TABLE ?? outputs.TableName;
  if (!tableName) throw new UsageError(`${options.outputs} has no TableName output: is it the outputs file of an imagehub stack?`);
  const ingestBucket = options.bucket ?? env.IMAGEHUB_INGEST_BUCKET ?? outputs.IngestBucketName;
  const publicUrl = env.IMAGEHUB_PUBLIC_URL ?? outputs.PublicUrl;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const overrides = region ? { region } : {};
  const s3 = createS3Client(env, overrides);
  const db = createDocumentClient(env, overrides);
  return {
    kind: 'aws',
    description: `the AWS deployment with table ${tableName}`,
    tableName,
    ...(ingestBucket ? { ingestBucket } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    s3,
    db,
    close: () => {
      s3.destroy();
      db.destroy();
    },
  };
}

/**
 * `cdk deploy --outputs-file` writes `{ stackName: { logicalId: value } }`, where logical ids carry the construct
 * path and a hash (`MetadataTableTableName1A2B3C4D`): outputs are found by the name they end with, before the hash.
 */
export function readStackOutputs(file: string): Record<string, string> {
  if (!existsSync(file)) throw new UsageError(`${file} does not exist (it is written by \`npm run deploy\`)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  const stacks = Object.values(parsed && typeof parsed === 'object' ? parsed : {}) as unknown[];
  if (stacks.length !== 1) throw new UsageError(`${file} holds ${stacks.length} stacks; imagehub expects the outputs of one`);
  const found: Record<string, string> = {};
  for (const [logicalId, value] of Object.entries(stacks[0] as Record<string, unknown>)) {
    const name = /(TableName|IngestBucketName|PublicUrl|DerivativeBucketName|HarvestFunctionName|IngestQueueUrl|DeadLetterQueueUrl)[0-9A-F]{8}$/.exec(logicalId)?.[1] ?? logicalId;
    if (typeof value === 'string') found[name] = value;
  }
  return found;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

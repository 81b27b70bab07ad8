/**
 * Embedded stand-ins for S3 (s3rver) and DynamoDB (dynalite) speaking the real AWS APIs on loopback, so the
 * handlers run unchanged on one machine. Buckets live as files under the data folder; the table in LevelDB
 * (or memory, for tests).
 *
 * s3rver needs node's --openssl-legacy-provider for ListObjectsV2 continuation tokens (the npm scripts set it),
 * and clients with checksums only WHEN_REQUIRED (see store/clients.ts).
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_INDEXES, TABLE_KEYS, type TableIndex } from '../store/table-schema.ts';

function projectionOf(index: TableIndex): { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] } {
  const projection = index.projection ?? { type: 'ALL' };
  return projection.type === 'INCLUDE' ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] } : { ProjectionType: projection.type };
}

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: unknown[] }) => void): void;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
type DynaliteFactory = (options: Record<string, unknown>) => Server;

export interface StandIns {
  s3Endpoint: string;
  dynamoEndpoint: string;
  /** S3 notifications, shaped like the JSON S3 sends to SQS. */
  onObjectEvent(listener: (message: { Records: unknown[] }) => void): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Folder for bucket files and the table; in memory/temporary when absent. */
  dataDir?: string;
  s3Port?: number;
  dynamoPort?: number;
}

export async function startStandIns(options: StandInOptions = {}): Promise<StandIns> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const dynalite = require('dynalite') as DynaliteFactory;
  const s3Dir = options.dataDir ? join(options.dataDir, 's3') : join(process.env.IMAGEHUB_TMP ?? '/tmp', `imagehub-s3-${process.pid}-${Date.now()}`);
  mkdirSync(s3Dir, { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port ?? 0,
    silent: true,
    directory: s3Dir,
    resetOnClose: !options.dataDir,
    allowMismatchedSignatures: true,
  });
  const s3Address = await s3.run();

  const dynamoOptions: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.dataDir) {
    mkdirSync(join(options.dataDir, 'dynamodb'), { recursive: true });
    dynamoOptions.path = join(options.dataDir, 'dynamodb');
  }
  const dynamo = dynalite(dynamoOptions);
  await new Promise<void>((resolve) => dynamo.listen(options.dynamoPort ?? 0, '127.0.0.1', resolve));
  const dynamoAddress = dynamo.address() as AddressInfo;

  return {
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    dynamoEndpoint: `http://127.0.0.1:${dynamoAddress.port}`,
    onObjectEvent: (listener) => s3.on('event', listener),
    close: async () => {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

export async function ensureBuckets(s3: S3Client, names: string[]): Promise<void> {
  for (const Bucket of names) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }
}

export async function ensureTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const existing = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const have = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    const missing = TABLE_INDEXES.filter((index) => !have.has(index.indexName)).map((index) => index.indexName);
    if (missing.length) {
      // The stand-in cannot add indexes to a table (and DynamoDB adds one per update): say what to do, plainly.
      throw new Error(
        `table "${tableName}" was created by an older imagehub and lacks the index(es) ${missing.join(', ')}: ` +
          'stop imagehub and delete the dynamodb folder under IMAGEHUB_DATA (re-copy the inbox images to re-ingest them)',
      );
    }
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  const attributes = new Set<string>([TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey]);
  for (const index of TABLE_INDEXES) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: projectionOf(index),
      })),
    }),
  );
  // A new table is CREATING for a moment (even in dynalite, for a timer tick), and answers "not found" until ACTIVE.
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
}

/**
 * At-least-once delivery: SQS may hand the same S3 notification over twice, to one consumer after the other or to
 * two at once, and a Lambda can die at any point of an ingest (time limit, lost container) and be run again. Each
 * case must leave exactly one correct result: the item ready with its revision, every file it promises stored
 * once, nothing of any other revision, the stable info.json naming it — the same files a clean run stores.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infoJsonKey, revisionPrefixes } from '../../functions/core/derivative-layout.ts';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { encodeKeyLikeS3 } from '../../functions/local/local-queue.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { ENDPOINTS_FILE, type LocalEndpoints } from '../../functions/cli/target.ts';
import { ObjectStore, type PutOptions } from '../../functions/store/object-store.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { ROOT } from '../support/processes.ts';
import { noiseMaster, settle, storedFiles } from '../support/ingest-checks.ts';

let system: LocalSystem;
const dataDir = mkdtempSync(join(tmpdir(), 'imagehub-redelivery-'));

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, quiet: true, dataDir, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', IMAGEHUB_DEMO: '0', PATH: process.env.PATH } });
}, 60_000);
afterAll(async () => {
  await system?.close();
  rmSync(dataDir, { recursive: true, force: true });
});



/** The notification S3 sends for the object as it is now, in the envelope SQS delivers (`receiveCount`-th time). */
async function sqsEventFor(key: string, messageId: string, receiveCount = 1): Promise<SQSEvent> {
  const head = await system.ingest.head(key);
  const body = JSON.stringify({
    Records: [{ eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), s3: { bucket: { name: system.ingestBucket }, object: { key: encodeKeyLikeS3(key), size: head!.size, eTag: head!.etag } } }],
  });
  return {
    Records: [{
      messageId, receiptHandle: messageId, body, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', awsRegion: 'local',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:imagehub-ingest',
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'local', ApproximateFirstReceiveTimestamp: '0' },
    }],
  };
}

const quietLogger = () => new Logger({ serviceName: 'imagehub-ingest', logLevel: 'SILENT' });
const context = { getRemainingTimeInMillis: () => 900_000, functionName: 'test', awsRequestId: 'test' } as never;


/** The one correct result: ready, the stable info.json names the published revision, exactly its files stored. */
async function expectOneCorrectResult(identifier: string, reference?: string[]): Promise<ImageItem> {
  const item = await system.items.get(identifier);
  expect(item?.status, item?.reason).toBe('ready');
  const revision = item!.published!.revision;
  for (const version of [3, 2] as const) {
    const stable = JSON.parse(Buffer.from((await system.derivatives.getBytes(infoJsonKey(version, identifier)))!).toString('utf8')) as Record<string, string>;
    expect(stable.id ?? stable['@id']).toContain(`${identifier}~${revision}`);
  }
  const files = await storedFiles(system, item!);
  expect(files.filter((key) => !key.includes('~REV') && !/\/ID\/info\.json$/.test(key)), 'files of another revision').toEqual([]);
  expect(files).toHaveLength(item!.published!.files);
  if (reference) expect(files).toEqual(reference);
  return item!;
}

describe('the same S3 event delivered again', () => {
  let reference: string[];

  beforeAll(async () => {
    await system.ingest.putBody('twice/reference.jpg', await noiseMaster(1, 1600, 1100), { contentType: 'image/jpeg' });
    await settle(system);
    reference = await storedFiles(system, (await system.items.get('twice:reference'))!);
  });

  it('after it was handled: nothing is rendered again, the files stay as they are', async () => {
    await system.ingest.putBody('twice/after.jpg', await noiseMaster(1, 1600, 1100), { contentType: 'image/jpeg' });
    await settle(system);
    const first = await expectOneCorrectResult('twice:after', reference);
    const handler = createIngestHandler({ deps: depsOf(system), logger: quietLogger() });
    const response = await handler(await sqsEventFor('twice/after.jpg', 'again'), context);
    expect(response.batchItemFailures).toEqual([]);
    const second = await expectOneCorrectResult('twice:after', reference);
    expect(second.published).toEqual(first.published);
    expect(second.timings).toEqual(first.timings);
  });

  it('to two consumers at once: one result, one set of files', async () => {
    await system.ingest.putBody('twice/together.jpg', await noiseMaster(1, 1600, 1100), { contentType: 'image/jpeg' });
    // The stand-in's own notification is handled too: three deliveries of one upload, two of them simultaneous.
    const [a, b] = [createIngestHandler({ deps: depsOf(system), logger: quietLogger() }), createIngestHandler({ deps: depsOf(system), logger: quietLogger() })];
    const responses = await Promise.all([a(await sqsEventFor('twice/together.jpg', 'a'), context), b(await sqsEventFor('twice/together.jpg', 'b'), context)]);
    await settle(system);
    for (const response of responses) expect(response.batchItemFailures).toEqual([]);
    await expectOneCorrectResult('twice:together', reference);
  });
});

function depsOf(s: LocalSystem, derivatives: ObjectStore = s.derivatives) {
  return { s3: s.s3, derivatives, protectedDerivatives: s.protectedDerivatives, items: s.items, settings: s.settings, decideAccess: (request: Parameters<typeof s.access.decide>[0]) => s.access.decide(request) };
}

/** A derivative store whose writes of the stable info.json fail once: the function "dies" right after the item. */
class DiesBeforeStableInfo extends ObjectStore {
  failures = 0;
  override async putBody(key: string, body: string | Uint8Array, options: PutOptions): Promise<void> {
    if (/^iiif\/[23]\/[^/~]+\/info\.json$/.test(key) && this.failures === 0) {
      this.failures += 1;
      throw new Error('function stopped');
    }
    await super.putBody(key, body, options);
  }
}

describe('an ingest stopped part-way and run again', () => {
  it('killed while uploading its pyramid (the deployed entry point, SIGKILL): the re-run completes it', async () => {
    const body = await noiseMaster(2, 7000, 5000);
    await system.ingest.putBody('killed/large.jpg', body, { contentType: 'image/jpeg' });
    await system.ingest.putBody('killed/reference.jpg', body, { contentType: 'image/jpeg' });
    await settle(system);
    const reference = await storedFiles(system, (await system.items.get('killed:reference'))!);
    // The stand-in's notification already ingested killed/large.jpg: start again from nothing, as a first delivery.
    const done = await system.items.get('killed:large');
    for (const store of [system.derivatives, system.protectedDerivatives]) {
      for (const prefix of [...revisionPrefixes('killed:large'), 'iiif/3/killed:large/', 'iiif/2/killed:large/']) await store.deletePrefix(prefix);
    }
    await system.items.markDeleted('killed:large', 'killed/large.jpg', new Date().toISOString());

    const endpoints = JSON.parse(readFileSync(join(dataDir, ENDPOINTS_FILE), 'utf8')) as LocalEndpoints;
    const event = await sqsEventFor('killed/large.jpg', 'first');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/ingest-lambda-child.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        SQS_EVENT: JSON.stringify(event),
        AWS_ENDPOINT_URL_S3: endpoints.s3Endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoEndpoint,
        AWS_REGION: endpoints.region,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        TABLE_NAME: system.settings.tableName,
        DERIVATIVE_BUCKET: system.settings.derivativeBucket,
        IMAGEHUB_PROTECTED_BUCKET: system.settings.protectedBucket,
        IMAGEHUB_PUBLIC_URL: system.settings.publicUrl,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill it once part of the pyramid is stored: some tiles there, the item still processing.
    let stored = 0;
    for (let waited = 0; waited < 120_000 && stored < 40; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
      stored = 0;
      for await (const _ of system.derivatives.listKeys(revisionPrefixes('killed:large')[0]!)) stored += 1;
    }
    child.kill('SIGKILL');
    await exited;
    const halfway = await system.items.get('killed:large');
    expect(halfway?.status).toBe('processing');
    expect(stored).toBeGreaterThanOrEqual(40);
    expect(stored).toBeLessThan(done!.published!.files - 2);
    expect(await system.derivatives.getBytes(infoJsonKey(3, 'killed:large'))).toBeUndefined();

    // SQS hands the message over again once its visibility timeout ends.
    const handler = createIngestHandler({ deps: depsOf(system), logger: quietLogger() });
    const response = await handler(await sqsEventFor('killed/large.jpg', 'first', 2), context);
    expect(response.batchItemFailures).toEqual([]);
    await expectOneCorrectResult('killed:large', reference);
  }, 300_000);

  it('stopped after the item was written, before the stable info.json: the re-delivery writes it', async () => {
    await system.ingest.putBody('stopped/late.jpg', await noiseMaster(3, 900, 700), { contentType: 'image/jpeg' });
    await system.ingest.putBody('stopped/reference.jpg', await noiseMaster(3, 900, 700), { contentType: 'image/jpeg' });
    await settle(system);
    const reference = await storedFiles(system, (await system.items.get('stopped:reference'))!);
    // Start over for stopped/late.jpg, first delivery dying between the item and the stable info.json.
    const derivatives = new DiesBeforeStableInfo(system.s3, system.settings.derivativeBucket);
    for (const prefix of [...revisionPrefixes('stopped:late'), 'iiif/3/stopped:late/', 'iiif/2/stopped:late/']) await system.derivatives.deletePrefix(prefix);
    await system.items.markDeleted('stopped:late', 'stopped/late.jpg', new Date().toISOString());

    const handler = createIngestHandler({ deps: depsOf(system, derivatives), logger: quietLogger() });
    const first = await handler(await sqsEventFor('stopped/late.jpg', 'm'), context);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
    expect(derivatives.failures).toBe(1);
    expect((await system.items.get('stopped:late'))?.status).toBe('ready');
    expect(await system.derivatives.getBytes(infoJsonKey(3, 'stopped:late'))).toBeUndefined();

    const second = await handler(await sqsEventFor('stopped/late.jpg', 'm', 2), context);
    expect(second.batchItemFailures).toEqual([]);
    await expectOneCorrectResult('stopped:late', reference);
  });
});

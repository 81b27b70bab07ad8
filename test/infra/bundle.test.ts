/**
 * The functions exactly as `cdk deploy` would upload them (the synthesized esbuild bundle, ESM, with its
 * packages left to the imaging layer), invoked with an SQS batch of S3 notifications against the embedded S3 and
 * DynamoDB on loopback. Catches what unit tests of the source cannot: bundling, the ESM require shim, externals.
 */
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import sharp from 'sharp';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDocumentClient, createS3Client } from '../../functions/store/clients.ts';
import { ImageItems } from '../../functions/store/image-items.ts';
import { createStores } from '../../functions/store/stores.ts';
import { mapLidoRecord } from '../../functions/core/lido.ts';
import { decideRights } from '../../functions/core/rights.ts';
import { validatePresentation3 } from '../support/presentation-schema.ts';
import { ensureBuckets, ensureTable, startStandIns, type StandIns } from '../../functions/local/stand-ins.ts';
import { PROJECT_ROOT, synthesize } from './synth.ts';

let standIns: StandIns;
let outdir: string;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let imageApi: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let presentationApi: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  const synth = synthesize();
  outdir = synth.outdir;
  // The asset's S3 key is its hash; cdk.out keeps the staged files in asset.{hash}.
  const bundleOf = (description: string) => {
    const fn = Object.values(synth.template.findResources('AWS::Lambda::Function')).find((r) =>
      String((r as { Properties: { Description?: string } }).Properties.Description).startsWith(description),
    ) as { Properties: { Code: { S3Key: string } } };
    return pathToFileURL(join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs')).href;
  };

  standIns = await startStandIns();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: standIns.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint,
    AWS_REGION: 'eu-west-1',
    // s3rver's built-in account; dynalite accepts any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    IMAGEHUB_PUBLIC_URL: 'https://iiif.example.museum',
    DERIVATIVE_BUCKET: 'derivatives',
    TABLE_NAME: 'imagehub',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  await ensureBuckets(createS3Client(), ['masters', 'derivatives']);
  await ensureTable(new DynamoDBClient({ endpoint: standIns.dynamoEndpoint }), 'imagehub');
  ({ handler } = (await import(bundleOf('imagehub ingest'))) as { handler: typeof handler });
  ({ handler: imageApi } = (await import(bundleOf('imagehub Image API'))) as { handler: typeof imageApi });
  ({ handler: presentationApi } = (await import(bundleOf('imagehub Presentation API'))) as { handler: typeof presentationApi });
}, 180_000);

afterAll(async () => {
  await standIns?.close();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const context = {
  functionName: 'imagehub-ingest',
  functionVersion: '$LATEST',
  awsRequestId: 'test-request',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:imagehub-ingest',
  memoryLimitInMB: '4096',
  getRemainingTimeInMillis: () => 600_000,
} as unknown as Context;

function sqsEvent(records: { key: string; etag: string; size: number }[]): SQSEvent {
  return {
    Records: records.map((r, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body: JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'masters' }, object: { key: encodeURIComponent(r.key), size: r.size, eTag: r.etag } } }],
      }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:events',
      awsRegion: 'eu-west-1',
    })),
  };
}

it('ingests a master and refuses a broken one, reporting only the fault as a batch item failure', async () => {
  const s3 = createS3Client();
  const painting = readFileSync(join(PROJECT_ROOT, 'test/fixtures/images/bentheim.jpg'));
  const good = await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'mskgent.be/1829-A.jpg', Body: painting }));
  const broken = Buffer.from(painting.subarray(0, 2000));
  const bad = await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'mskgent.be/broken.jpg', Body: broken }));

  const response = await handler(
    sqsEvent([
      { key: 'mskgent.be/1829-A.jpg', etag: good.ETag!, size: painting.length },
      { key: 'mskgent.be/broken.jpg', etag: bad.ETag!, size: broken.length },
    ]),
    context,
  );
  // A refused master is an outcome, not a fault: nothing to retry.
  expect(response.batchItemFailures).toEqual([]);

  const items = new ImageItems(createDocumentClient(), 'imagehub');
  const ready = await items.get('mskgent.be:1829-A');
  expect(ready).toMatchObject({ status: 'ready' });
  expect((await items.get('mskgent.be:broken'))?.status).toBe('failed');

  const info = JSON.parse(
    await (await s3.send(new GetObjectCommand({ Bucket: 'derivatives', Key: 'iiif/3/mskgent.be:1829-A/info.json' }))).Body!.transformToString(),
  ) as { id: string; width: number };
  expect(info.id).toMatch(/^https:\/\/iiif\.example\.museum\/iiif\/3\/mskgent\.be:1829-A~[0-9a-f]+$/);
  expect(info.width).toBe(ready!.published!.width);
  expect(ready!.published!.revision).toBe(info.id.split('~').pop());
}, 120_000);

/** An HTTP API (payload 2.0) GET as CloudFront forwards it: the API's own host, the viewer's host in our header. */
function event(path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc.execute-api.eu-west-1.amazonaws.com', 'x-imagehub-viewer-host': 'd111.cloudfront.net' },
    requestContext: { http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

it('answers an Image API request with the deployed Image API bundle, public URLs from the CDN host', async () => {
  // Runs after the ingest test above published mskgent.be:1829-A.
  // The function itself has no IMAGEHUB_PUBLIC_URL behind CloudFront's own domain (see lib/image-api.ts).
  delete process.env.IMAGEHUB_PUBLIC_URL;
  const png = await imageApi(event('/iiif/3/mskgent.be:1829-A/full/200,/90/gray.png'), context);
  expect(png.statusCode).toBe(200);
  expect(png.isBase64Encoded).toBe(true);
  expect(png.headers?.link).toContain('<https://d111.cloudfront.net/iiif/3/mskgent.be:1829-A/full/200,');
  const meta = await sharp(Buffer.from(png.body!, 'base64')).metadata();
  expect(meta.format).toBe('png');
  expect(meta.height).toBe(200); // rotated by 90°: the requested width is now the height
  const bad = await imageApi(event('/iiif/3/mskgent.be:1829-A/full/200,/0/default.bmp'), context);
  expect(bad.statusCode).toBe(400);
  expect(bad.body).toMatch(/format/);
}, 60_000);


it('answers a manifest with the deployed Presentation API bundle once the record of the ingested image lands', async () => {
  // Runs after the ingest test above published mskgent.be:1829-A; the record arrives second, as from a harvest.
  const xml = readFileSync(join(PROJECT_ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml'), 'utf8');
  const mapped = mapLidoRecord(xml);
  if (!mapped.ok) throw new Error(mapped.skipped.reason);
  const record = { ...mapped.record, datestamp: '2026-01-01T00:00:00Z' };
  const stores = createStores(createDocumentClient(), 'imagehub');
  expect(await stores.records.upsert(record, xml, decideRights(record, undefined, 2026), 'https://datahub.example.org/oai', '2026-01-01T00:00:00Z')).toBe('added');

  const answer = await presentationApi(event('/iiif/presentation/3/mskgent.be:1829-A/manifest.json'), { ...context, functionName: 'imagehub-presentation' } as Context);
  expect(answer.statusCode, answer.body).toBe(200);
  const manifest = JSON.parse(answer.body!) as { id: string; items: { width: number }[]; seeAlso: { id: string }[] };
  expect(manifest.id).toBe('https://d111.cloudfront.net/iiif/presentation/3/mskgent.be:1829-A/manifest.json');
  expect(validatePresentation3(manifest)).toEqual([]);
  expect(manifest.items[0]!.width).toBe((await stores.images.get('mskgent.be:1829-A'))!.published!.width);
  expect(manifest.seeAlso[0]!.id).toMatch(/^https:\/\/datahub\.example\.org\/oai\?verb=GetRecord&/);
  const collection = await presentationApi(event('/iiif/presentation/3/collection/mskgent.be.json'), context);
  expect(JSON.parse(collection.body!)).toMatchObject({ type: 'Collection', items: [{ id: manifest.id, type: 'Manifest' }] });
}, 60_000);

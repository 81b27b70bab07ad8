/**
 * The whole system on one machine: stand-ins (or the S3/DynamoDB endpoints the standard AWS_ENDPOINT_URL_*
 * variables name), the buckets and table, the real ingest handler behind a local queue fed by S3 notifications,
 * and the HTTP router. Used by `npm start` and by the integration tests.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IngestSettings } from '../core/settings.ts';
import { parseIngestSettings } from '../core/settings.ts';
import { createIngestHandler } from '../ingest/handler.ts';
import { createDocumentClient, createS3Client } from '../store/clients.ts';
import type { ImageItems } from '../store/image-items.ts';
import { createStores, type Stores } from '../store/stores.ts';
import { ObjectStore } from '../store/object-store.ts';
import { keysOfLetter } from '../store/dead-letters.ts';
import { encodeKeyLikeS3, LocalQueue } from './local-queue.ts';
import { ENDPOINTS_FILE, type LocalEndpoints } from '../cli/target.ts';
import { createRouter } from './router.ts';
import { ensureBuckets, ensureTable, startStandIns, type StandIns } from './stand-ins.ts';
import { ViewerAssets } from './viewer-assets.ts';
import { localSecrets, type LocalAuth } from '../auth/secrets.ts';
import { isAuthorised, parseSessionSeconds } from '../core/auth.ts';
import { parseAccessSettings } from '../core/access-policy.ts';
import { AccessReview, republishMessage } from '../access/review.ts';

export interface LocalSystemOptions {
  /** Data folder; temporary and in-memory when absent (tests). */
  dataDir?: string;
  port?: number;
  env?: Record<string, string | undefined>;
  /** Quiet logs (tests). */
  quiet?: boolean;
  /** Fetch the viewers' bundles at start rather than on the first `/viewer/` request; default: when not quiet. */
  prefetchViewers?: boolean;
  /** The access review's clock (tests of the public-domain day); default: the real one. */
  now?: () => Date;
}

export interface LocalSystem {
  url: string;
  settings: IngestSettings;
  ingestBucket: string;
  s3: S3Client;
  db: DynamoDBDocumentClient;
  derivatives: ObjectStore;
  /** What the access policy keeps from the public (never served without authorisation). */
  protectedDerivatives: ObjectStore;
  /** The access review (functions/access/review.ts); `reviewAll` is what the daily schedule runs on AWS. */
  access: AccessReview;
  ingest: ObjectStore;
  items: ImageItems;
  stores: Stores;
  queue: LocalQueue;
  server: Server;
  /** False when an external S3 endpoint is used: it sends no notifications, so uploaders enqueue the event. */
  notifiesOnUpload: boolean;
  /** The staff password and signing key of the Auth 2.0 services, and the file holding them (`{data}/auth.json`). */
  auth: LocalAuth;
  close(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** The local dead-letter queue, kept in the data folder so a letter outlives a restart. */
export const DEAD_LETTER_FILE = 'dead-letters.json';

export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const env = options.env ?? process.env;
  const port = options.port ?? Number(env.PORT ?? 3000);
  const external = { s3: env.AWS_ENDPOINT_URL_S3, dynamo: env.AWS_ENDPOINT_URL_DYNAMODB };
  let standIns: StandIns | undefined;
  if (!external.s3 || !external.dynamo) standIns = await startStandIns(options.dataDir ? { dataDir: options.dataDir } : {});

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const url = `http://localhost:${address.port}`;

  const settings = parseIngestSettings({
    IMAGEHUB_PUBLIC_URL: url,
    DERIVATIVE_BUCKET: 'imagehub-derivatives',
    IMAGEHUB_PROTECTED_BUCKET: 'imagehub-protected',
    TABLE_NAME: 'imagehub',
    ...env,
  });
  const accessSettings = parseAccessSettings(env);
  const ingestBucket = env.INGEST_BUCKET ?? 'imagehub-ingest';
  const clientEnv = {
    IMAGEHUB_STORAGE_TIMEOUT_MS: env.IMAGEHUB_STORAGE_TIMEOUT_MS,
    AWS_ENDPOINT_URL_S3: external.s3 ?? standIns!.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: external.dynamo ?? standIns!.dynamoEndpoint,
  };
  const local = { region: env.AWS_REGION ?? 'us-east-1', ...(standIns ? { credentials: LOCAL_CREDENTIALS } : {}) };
  const s3 = createS3Client(clientEnv, local);
  const db = createDocumentClient(clientEnv, local);
  await ensureBuckets(s3, [ingestBucket, settings.derivativeBucket, settings.protectedBucket!]);
  await ensureTable(db, settings.tableName);

  const derivatives = new ObjectStore(s3, settings.derivativeBucket);
  const protectedDerivatives = new ObjectStore(s3, settings.protectedBucket!);
  const log = options.quiet ? () => undefined : (line: string) => console.log(line);
  // Stores, access review, ingest and queue need one another; the closures below run only after all exist.
  const stores = createStores(
    db,
    settings.tableName,
    (message, details) => {
      if (!options.quiet) console.warn(message, details);
    },
    { afterRecordChange: async (change) => void (await access.reviewRecord(change.recordId)) },
  );
  const access = new AccessReview({
    records: stores.records,
    images: stores.images,
    settings: accessSettings,
    ...(options.now ? { now: options.now } : {}),
    republish: (item) => Promise.resolve(queue.send(republishMessage(item))),
    log: (message, details) => log(`${message}: ${JSON.stringify(details)}`),
  });
  const items = stores.images;
  const handler = createIngestHandler({
    deps: { s3, derivatives, protectedDerivatives, items, settings, decideAccess: (request) => access.decide(request) },
    logger: new Logger({ serviceName: 'imagehub-ingest', logLevel: options.quiet ? 'SILENT' : 'INFO' }),
    deadLetter: (letter) => queue.deadLetter(letter),
  });
  const queue = new LocalQueue(handler, {
    retryDelayMs: Number(env.IMAGEHUB_LOCAL_RETRY_MS ?? 1000),
    onDeadLetter: (letter) =>
      log(`dead-lettered: ${keysOfLetter(letter.body).join(', ') || letter.body.slice(0, 200)}: ${letter.reason ?? 'no reason recorded'} (\`npx imagehub redrive\` replays it)`),
    ...(options.dataDir ? { deadLetterFile: join(options.dataDir, DEAD_LETTER_FILE) } : {}),
  });
  // S3 notifications of the ingest bucket only, URL-encoded as S3 does, in the envelope SQS would deliver.
  standIns?.onObjectEvent((message) => {
    const records = (message.Records as { s3: { bucket: { name: string }; object: { key: string } } }[]).filter(
      (r) => r.s3.bucket.name === ingestBucket,
    );
    if (records.length === 0) return;
    for (const r of records) r.s3.object.key = encodeKeyLikeS3(r.s3.object.key);
    queue.send(JSON.stringify({ Records: records }));
  });

  const viewers = new ViewerAssets({ log, baseUrl: url, ...(env.IMAGEHUB_VIEWER_CACHE ? { cacheDir: env.IMAGEHUB_VIEWER_CACHE } : {}) });
  if (options.prefetchViewers ?? !options.quiet) viewers.prefetch();

  const ingest = new ObjectStore(s3, ingestBucket);
  const notifiesOnUpload = standIns !== undefined;
  const auth = localSecrets(options.dataDir, env);
  server.on(
    'request',
    createRouter({
      derivatives,
      protectedDerivatives,
      authorised: async (request) => isAuthorised(request.headers, auth.secrets.signingKey, new Date()),
      items,
      settings,
      masters: (bucket) => new ObjectStore(s3, bucket),
      presentation: { objects: stores.objects, records: stores.records, publicUrl: settings.publicUrl },
      auth: {
        items,
        secrets: () => Promise.resolve(auth.secrets),
        publicUrl: settings.publicUrl,
        sessionSeconds: parseSessionSeconds(env.IMAGEHUB_AUTH_SESSION_HOURS),
      },
      viewers,
      web: {
        objects: stores.objects,
        records: stores.records,
        images: items,
        harvestState: stores.harvestState,
        reviewAccess: () => access.reviewAll(),
        deadLetters: { list: () => [...queue.deadLetters], redrive: () => queue.redrive() },
        ingest,
        publicUrl: settings.publicUrl,
        ...(notifiesOnUpload ? {} : { notify: (message: string) => queue.send(message) }),
      },
      log: (level, message, details) => {
        if (level === 'warn') log(`${message}: ${JSON.stringify(details)}`);
      },
    }),
  );

  // What the daily EventBridge schedule does on AWS: every image's access decided again (1 January opens works
  // entering the public domain). At start too, for a machine that was off at midnight.
  const reviewAll = () =>
    access.reviewAll().then(
      (report) => report.republished.length > 0 && log(`access review: ${report.republished.length} of ${report.reviewed} images republished`),
      (error: unknown) => log(`access review failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  const daily = setInterval(() => void reviewAll(), 24 * 3600 * 1000);
  daily.unref();
  if (!options.quiet) void reviewAll();

  // The imagehub CLI finds this system through the data folder (functions/cli/target.ts).
  const endpointsFile = options.dataDir ? join(options.dataDir, ENDPOINTS_FILE) : undefined;
  if (endpointsFile) {
    const endpoints: LocalEndpoints = {
      url,
      s3Endpoint: clientEnv.AWS_ENDPOINT_URL_S3,
      dynamoEndpoint: clientEnv.AWS_ENDPOINT_URL_DYNAMODB,
      region: local.region,
      ingestBucket,
      derivativeBucket: settings.derivativeBucket,
      tableName: settings.tableName,
      pid: process.pid,
      standInCredentials: standIns !== undefined,
    };
    writeFileSync(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  }

  return {
    url,
    settings,
    ingestBucket,
    s3,
    db,
    derivatives,
    protectedDerivatives,
    access,
    ingest,
    items,
    stores,
    queue,
    server,
    notifiesOnUpload,
    auth,
    close: async () => {
      clearInterval(daily);
      if (endpointsFile) rmSync(endpointsFile, { force: true });
      viewers.close();
      await queue.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3.destroy();
      db.destroy();
      await standIns?.close();
    },
  };
}

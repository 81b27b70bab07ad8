/**
 * Measurement step of the presentation benchmark, in its own process so its peak RSS is its own: the real
 * Presentation API handler (as Lambda runs it, with the stores wired as in production) against the DynamoDB
 * stand-in named by the environment. Times manifests of random objects (seeded, so runs are comparable), institution
 * collections and collection pages, checking every answer; counts the DynamoDB requests each kind costs. Prints the
 * figures as JSON.
 *
 *   presentation-once TABLE OBJECT_IDS_JSON SEED
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createPresentationHandler } from '../../functions/presentation/handler.ts';
import { collectionPageUrl, manifestUrl } from '../../functions/core/presentation.ts';
import { createDocumentClient } from '../../functions/store/clients.ts';
import { createStores } from '../../functions/store/stores.ts';
import { seededRandom } from './random.ts';

const BASE = 'https://iiif.example.org';
const WARM_UP = 20;
const MANIFESTS = 500;
const COLLECTIONS = 100;

const [table, idsFile, seedArg] = process.argv.slice(2) as [string, string, string];
const objectIds = JSON.parse(readFileSync(idsFile, 'utf8')) as string[];

const random = seededRandom(Number(seedArg));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const db = createDocumentClient();
let dynamoCalls = 0;
db.middlewareStack.add(
  (next) => (args) => {
    dynamoCalls++;
    return next(args);
  },
  { step: 'initialize', name: 'benchCountRequests' },
);
const stores = createStores(db, table);
const handler = createPresentationHandler({ objects: stores.objects, records: stores.records, publicUrl: BASE });
const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'imagehub-presentation',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:imagehub-presentation',
  memoryLimitInMB: '1024',
  awsRequestId: 'bench',
  logGroupName: '/aws/lambda/imagehub-presentation',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/**
 * Peak RSS sampled after every request. Not resourceUsage().maxRSS: Linux carries the high-water mark of the address
 * space a child was forked from across exec, so a child of the parent holding the whole table would report the
 * parent's size.
 */
let peakRss = process.memoryUsage.rss();

interface Timed {
  ms: number;
  calls: number;
  answer: APIGatewayProxyStructuredResultV2;
}
async function request(rawPath: string): Promise<Timed> {
  const event = { rawPath, requestContext: { http: { method: 'GET' } }, headers: {}, queryStringParameters: {} } as unknown as APIGatewayProxyEventV2;
  const calls = dynamoCalls;
  const start = performance.now();
  const answer = await handler(event, context);
  const ms = performance.now() - start;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return { ms, calls: dynamoCalls - calls, answer };
}

const failures: string[] = [];
/** The JSON document of a 200 answer with at least one item; else the failure is recorded. */
function checked(path: string, timed: Timed): { items?: { id: string; type: string }[] } | undefined {
  const { answer } = timed;
  if (answer.statusCode !== 200) {
    failures.push(`${path}: ${answer.statusCode} ${String(answer.body).slice(0, 200)}`);
    return undefined;
  }
  try {
    const document = JSON.parse(String(answer.body)) as { items?: { id: string; type: string }[] };
    if (!document.items?.length) failures.push(`${path}: no items`);
    return document;
  } catch (error) {
    failures.push(`${path}: body is not JSON (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

const path = (url: string) => url.slice(BASE.length);
const manifestPath = (objectId: string) => path(manifestUrl(BASE, 3, objectId));

// Warm-up: module initialisation, the SDK's connections, the JIT.
for (let i = 0; i < WARM_UP; i++) {
  const p = manifestPath(pick(objectIds));
  checked(p, await request(p));
}

interface Samples {
  ms: number[];
  calls: number;
  bytes: number;
}
const samples = (): Samples => ({ ms: [], calls: 0, bytes: 0 });
const record = (into: Samples, timed: Timed) => {
  into.ms.push(timed.ms);
  into.calls += timed.calls;
  into.bytes += String(timed.answer.body ?? '').length;
};

const manifests = samples();
for (let i = 0; i < MANIFESTS; i++) {
  const p = manifestPath(pick(objectIds));
  const timed = await request(p);
  record(manifests, timed);
  checked(p, timed);
}

// Page starts as clients find them: the Collection items of each institution's collection (the first listed object
// when the institution has a single page and its collection lists manifests directly).
const institutions = [...new Set(objectIds.map((id) => id.slice(0, id.indexOf(':'))))].sort();
const pagePaths: string[] = [];
for (const institution of institutions) {
  const p = path(`${BASE}/iiif/presentation/3/collection/${institution}.json`);
  const document = checked(p, await request(p));
  const items = document?.items ?? [];
  const pages = items.filter((item) => item.type === 'Collection').map((item) => path(item.id));
  if (pages.length === 0 && items[0]) {
    const firstObjectId = decodeURIComponent(path(items[0].id).split('/').at(-2)!);
    pages.push(path(collectionPageUrl(BASE, 3, institution, firstObjectId)));
  }
  pagePaths.push(...pages);
}
if (pagePaths.length === 0) failures.push('no collection page found in any institution collection');

const roots = samples();
const pages = samples();
for (let i = 0; i < COLLECTIONS && pagePaths.length > 0; i++) {
  const isRoot = i % 4 === 0;
  const p = isRoot ? path(`${BASE}/iiif/presentation/3/collection/${pick(institutions)}.json`) : pick(pagePaths);
  const timed = await request(p);
  record(isRoot ? roots : pages, timed);
  checked(p, timed);
}
db.destroy();

if (failures.length > 0) {
  console.error(`${failures.length} answers failed, e.g.:\n${failures.slice(0, 5).join('\n')}`);
  process.exit(1);
}

const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
};
const figures = (s: Samples) => ({
  n: s.ms.length,
  p50: percentile(s.ms, 0.5),
  p95: percentile(s.ms, 0.95),
  max: percentile(s.ms, 1),
  dynamoCallsPerRequest: s.ms.length ? s.calls / s.ms.length : 0,
  bytesPerAnswer: s.ms.length ? Math.round(s.bytes / s.ms.length) : 0,
});
const usage = process.resourceUsage();
peakRss = Math.max(peakRss, process.memoryUsage.rss());
console.log(
  JSON.stringify({
    objects: objectIds.length,
    manifest: figures(manifests),
    page: figures(pages),
    institution: figures(roots),
    pagesListed: pagePaths.length,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRssMb: peakRss / 1048576,
  }),
);

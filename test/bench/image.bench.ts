/**
 * `npm run bench:image`: the dynamic Image API against iiif-processor (the engine of serverless-iiif), on one
 * 100-megapixel master, in the same run, the same seeded requests, the same S3 stand-in.
 *
 *   imagehub:  the ingest's pyramid and image item; answers read only the tiles they need.
 *   reference: a JPEG-compressed tiled pyramidal TIFF of the same master (what serverless-iiif asks its users to
 *              provide: its best case), dimensions of every page given up front.
 *
 * Requests (seeded): tile-aligned tiles at every level (what viewers ask), non-aligned regions of 0.6–9 MP at
 * `!800,800`,
 * `!1200,1200` renditions, `pct:` sizes, `max` within maxArea. Each side runs in its own process, one request at
 * a time, after a short warm-up. Last line: JSON.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { DEFAULTS, parseIngestSettings } from '../../functions/core/settings.ts';
import { scaleFactorsFor, tilesAt } from '../../functions/core/pyramid.ts';
import { handleObjectEvent } from '../../functions/ingest/ingest-object.ts';
import { ensureBuckets, ensureTable, startStandIns } from '../../functions/local/stand-ins.ts';
import { createDocumentClient, createS3Client } from '../../functions/store/clients.ts';
import { ImageItems } from '../../functions/store/image-items.ts';
import { ObjectStore } from '../../functions/store/object-store.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MASTER_SIZE, makePhotographicMaster } from './master.ts';
import { bundleBench, runBench } from './node-bundle.ts';
import { seededRandom } from './random.ts';

const work = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'bench-image-'));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const WARMUP = 10;


function requestPaths(identifier: string, count: number): string[] {
  const { width, height } = MASTER_SIZE;
  const next = seededRandom(20261124);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const factors = scaleFactorsFor(width, height, DEFAULTS.tileSize);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next();
    let request: string;
    if (kind < 0.4) {
      const tile = pick(tilesAt(width, height, DEFAULTS.tileSize, pick(factors)));
      request = `${tile.regionParam}/${tile.size.width},${tile.size.height}/0/default.jpg`;
    } else if (kind < 0.6) {
      // Both sides at least 800 px: iiif-processor 7 refuses `!800,800` of a region narrower than that in either
      // direction as "upscaling", although fitting inside never enlarges it.
      const w = int(800, 3000);
      const h = int(800, 3000);
      request = `${int(0, width - w)},${int(0, height - h)},${w},${h}/!800,800/0/default.jpg`;
    } else if (kind < 0.75) {
      request = 'full/!1200,1200/0/default.jpg';
    } else if (kind < 0.9) {
      request = `full/pct:${int(1, 20)}/0/default.jpg`;
    } else {
      request = 'full/max/0/default.jpg';
    }
    paths.push(`/iiif/3/${identifier}/${request}`);
  }
  return paths;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const step = (message: string) => console.log(`… ${message}`);
const masterPath = join(work, 'master.jpg');
step('making the 100 MP master');
await makePhotographicMaster(masterPath);
step('making the reference pyramidal TIFF');
const tiffPath = join(work, 'master.tif');
// serverless-iiif's documented preparation: tiled, pyramidal, JPEG-compressed TIFF.
await sharp(masterPath, { limitInputPixels: false }).tiff({ tile: true, pyramid: true, compression: 'jpeg', quality: 85, tileWidth: 256, tileHeight: 256 }).toFile(tiffPath);
const pages: { width: number; height: number }[] = [];
const pageCount = (await sharp(tiffPath).metadata()).pages ?? 1;
for (let page = 0; page < pageCount; page++) {
  const m = await sharp(tiffPath, { page, limitInputPixels: false }).metadata();
  pages.push({ width: m.width, height: m.height });
}

step('ingesting the master into the S3 and DynamoDB stand-ins');
const standIns = await startStandIns({ dataDir: join(work, 'stand-ins') });
const env = {
  AWS_ENDPOINT_URL_S3: standIns.s3Endpoint,
  AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
};
Object.assign(process.env, env);
const s3 = createS3Client();
await ensureBuckets(s3, ['masters', 'derivatives', 'reference']);
await ensureTable(new DynamoDBClient({ endpoint: standIns.dynamoEndpoint }), 'imagehub');
const masterBytes = readFileSync(masterPath);
const put = await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'bench/master.jpg', Body: masterBytes }));
await s3.send(new PutObjectCommand({ Bucket: 'reference', Key: 'master.tif', Body: readFileSync(tiffPath) }));
const settings = parseIngestSettings({ IMAGEHUB_PUBLIC_URL: 'https://bench.example', DERIVATIVE_BUCKET: 'derivatives', TABLE_NAME: 'imagehub' });
const outcome = await handleObjectEvent(
  { kind: 'created', bucket: 'masters', key: 'bench/master.jpg', etag: put.ETag!, size: masterBytes.length },
  { s3, derivatives: new ObjectStore(s3, 'derivatives'), items: new ImageItems(createDocumentClient(), 'imagehub'), settings },
);
if (outcome.status !== 'ready') throw new Error(`ingest of the bench master failed: ${JSON.stringify(outcome)}`);

const planFile = join(work, 'plan.json');
writeFileSync(
  planFile,
  JSON.stringify({
    identifier: outcome.identifier,
    maxArea: settings.maxArea,
    maxSize: (await new ImageItems(createDocumentClient(), 'imagehub').get(outcome.identifier))!.published!.maxSize,
    reference: { bucket: 'reference', key: 'master.tif', pages },
    paths: requestPaths(outcome.identifier, REQUESTS + WARMUP),
    warmup: WARMUP,
  }),
);

interface Side { latencies: number[]; bytes: number; peakRssMb: number }
const run = async (side: 'imagehub' | 'reference') => runBench<Side>(await bundleBench(`image-${side}`), [planFile]);
step('running iiif-processor');
const reference = await run('reference');
step('running imagehub');
const imagehub = await run('imagehub');
await standIns.close();

const figures = {
  imagehub_p50_ms: percentile(imagehub.latencies, 50),
  imagehub_p95_ms: percentile(imagehub.latencies, 95),
  reference_p50_ms: percentile(reference.latencies, 50),
  reference_p95_ms: percentile(reference.latencies, 95),
};
console.log(`master: ${MASTER_SIZE.width}×${MASTER_SIZE.height}; reference pyramidal TIFF ${(statSync(tiffPath).size / 1e6).toFixed(1)} MB, ${pages.length} pages`);
console.log(`${REQUESTS} seeded requests (+${WARMUP} warm-up), one at a time, from the S3 stand-in`);
console.log(`imagehub:       p50 ${figures.imagehub_p50_ms.toFixed(1)} ms, p95 ${figures.imagehub_p95_ms.toFixed(1)} ms, peak RSS ${imagehub.peakRssMb.toFixed(0)} MB`);
console.log(`iiif-processor: p50 ${figures.reference_p50_ms.toFixed(1)} ms, p95 ${figures.reference_p95_ms.toFixed(1)} ms, peak RSS ${reference.peakRssMb.toFixed(0)} MB`);
const kindOf = (path: string): string => {
  const [region, size] = path.split('/').slice(4, 6) as [string, string];
  if (size === 'max') return 'full/max';
  if (size.startsWith('pct:')) return 'full/pct:n';
  if (size === '!1200,1200') return 'full/!1200,1200';
  if (size === '!800,800') return 'region/!800,800';
  return region === 'full' ? 'tile (one-tile level)' : 'tile';
};
const measured = JSON.parse(readFileSync(planFile, 'utf8')).paths.slice(WARMUP) as string[];
for (const kind of [...new Set(measured.map(kindOf))].sort()) {
  const pick = (side: Side) => side.latencies.filter((_, i) => kindOf(measured[i]!) === kind);
  const ours = pick(imagehub);
  console.log(`  ${kind.padEnd(22)} n=${String(ours.length).padStart(3)}  p50 ${percentile(ours, 50).toFixed(1).padStart(6)} ms vs ${percentile(pick(reference), 50).toFixed(1).padStart(6)} ms`);
}
console.log(`ratio p50 ${(figures.imagehub_p50_ms / figures.reference_p50_ms).toFixed(3)}, p95 ${(figures.imagehub_p95_ms / figures.reference_p95_ms).toFixed(3)}`);
rmSync(work, { recursive: true, force: true });
console.log(
  JSON.stringify({
    bench: 'image',
    requests: REQUESTS,
    imagehub_p50_ms: Number(figures.imagehub_p50_ms.toFixed(1)),
    reference_p50_ms: Number(figures.reference_p50_ms.toFixed(1)),
    ratio_p50: Number((figures.imagehub_p50_ms / figures.reference_p50_ms).toFixed(3)),
    imagehub_p95_ms: Number(figures.imagehub_p95_ms.toFixed(1)),
    reference_p95_ms: Number(figures.reference_p95_ms.toFixed(1)),
    ratio_p95: Number((figures.imagehub_p95_ms / figures.reference_p95_ms).toFixed(3)),
    peak_rss_mb: Math.round(imagehub.peakRssMb),
    reference_peak_rss_mb: Math.round(reference.peakRssMb),
  }),
);

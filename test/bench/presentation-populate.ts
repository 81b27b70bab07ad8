/**
 * Population step of the presentation benchmark, in its own process: stores the records of a JSONL file (one
 * {@link PopulateEntry} a line, written by presentation.bench.ts) through the real record and image stores, as the
 * harvest and the ingest do, so the object summaries are refreshed by the stores' own change listeners. Each record
 * gets two ready images (`{institution}/{objectNumber}.jpg` and `…-2.jpg`) with a synthetic but realistic published
 * pyramid. Ends by checking that a sample of the objects is listed with both images. Prints the counts as JSON.
 *
 *   presentation-populate RECORDS_JSONL TABLE
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mapLidoRecord } from '../../functions/core/lido.ts';
import { decideRights } from '../../functions/core/rights.ts';
import { identifierForKey } from '../../functions/core/identifier.ts';
import type { LinkHints, PublishedPyramid, SourceDescription } from '../../functions/core/image-item.ts';
import { allTiles, maxSizeFor, scaleFactorsFor, sizesFor } from '../../functions/core/pyramid.ts';
import { objectIdFor } from '../../functions/core/presentation.ts';
import { createDocumentClient } from '../../functions/store/clients.ts';
import { createStores } from '../../functions/store/stores.ts';

/** One record to store, as the parent made it with makeRecord (test/support/datahub-records.ts). */
export interface PopulateEntry {
  index: number;
  identifier: string;
  datestamp: string;
  setSpecs: string[];
  xml: string;
  institution: string;
  objectNumber: string;
}

const CONCURRENCY = 16;
const SOURCE = 'https://datahub.example.org/oai';
const WIDTH = 6000;
const HEIGHT = 4000;
const TILE_SIZE = 512;
const LIMITS = { maxArea: 16_777_216 };
const SCALE_FACTORS = scaleFactorsFor(WIDTH, HEIGHT, TILE_SIZE);
const SIZES = sizesFor(WIDTH, HEIGHT, SCALE_FACTORS, LIMITS);
const MAX_SIZE = maxSizeFor(WIDTH, HEIGHT, LIMITS);
const FILES = allTiles(WIDTH, HEIGHT, TILE_SIZE).length + SIZES.length;

const [file, table] = process.argv.slice(2) as [string, string];
const entries = readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as PopulateEntry);

const db = createDocumentClient();
const refreshFailures: string[] = [];
const stores = createStores(db, table, (message, details) => refreshFailures.push(`${message} ${JSON.stringify(details)}`));
const objectIds: string[] = new Array<string>(entries.length);

async function populateOne(entry: PopulateEntry, slot: number): Promise<void> {
  const mapped = mapLidoRecord(entry.xml, { identifier: entry.identifier, datestamp: entry.datestamp, setSpecs: entry.setSpecs, deleted: false });
  if (!mapped.ok) throw new Error(`record ${entry.identifier} did not map: ${mapped.skipped.reason}`);
  const objectId = objectIdFor(mapped.record);
  if (!objectId) throw new Error(`record ${entry.identifier} has no object id`);
  objectIds[slot] = objectId;
  const outcome = await stores.records.upsert(mapped.record, entry.xml, decideRights(mapped.record, undefined, 2026), SOURCE, new Date().toISOString());
  if (outcome !== 'added' && outcome !== 'unchanged') throw new Error(`record ${entry.identifier}: upsert answered ${outcome}`);
  for (const sortNumber of [1, 2]) {
    const key = `${entry.institution}/${entry.objectNumber}${sortNumber === 1 ? '' : '-2'}.jpg`;
    const made = identifierForKey(key);
    if (made.kind !== 'identifier') throw new Error(`key ${key}: ${made.reason}`);
    await publishImage(made.identifier, key, { institution: entry.institution, objectNumber: entry.objectNumber, sortNumber });
  }
}

/** Claim then publish, as the ingest makes an image ready. */
async function publishImage(identifier: string, key: string, links: LinkHints): Promise<void> {
  const checksum = createHash('sha256').update(key).digest('hex');
  const attempt = `"${checksum.slice(0, 32)}"`;
  const claim = await stores.images.claim(identifier, key, attempt, links, new Date().toISOString());
  if (!claim.claimed) throw new Error(`image ${identifier} is owned by ${claim.owner}`);
  const source: SourceDescription = {
    bucket: 'imagehub-ingest',
    key,
    size: 14_200_000,
    etag: attempt,
    checksum,
    format: 'jpeg',
    width: WIDTH,
    height: HEIGHT,
    pages: 1,
    page: 0,
    colourSpace: 'srgb',
    bitsPerSample: 8,
    hasAlpha: false,
  };
  const published: PublishedPyramid = {
    revision: checksum.slice(0, 12),
    width: WIDTH,
    height: HEIGHT,
    tileSize: TILE_SIZE,
    scaleFactors: SCALE_FACTORS,
    sizes: SIZES,
    limits: LIMITS,
    maxSize: MAX_SIZE,
    files: FILES,
    bytes: FILES * 38_000,
  };
  const timings = { downloadMs: 180, decodeMs: 950, renderMs: 4100, publishMs: 1300 };
  const latest = await stores.images.publish(identifier, attempt, { source, published, embedded: {}, links, timings }, new Date().toISOString());
  if (!latest) throw new Error(`image ${identifier}: publish lost to another attempt`);
}

const start = performance.now();
let next = 0;
let done = 0;
async function lane(): Promise<void> {
  while (next < entries.length) {
    const slot = next++;
    await populateOne(entries[slot]!, slot);
    done++;
    if (done % 1000 === 0) console.error(`  … ${done} of ${entries.length} records (${((performance.now() - start) / 1000).toFixed(0)} s)`);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, lane));
const seconds = (performance.now() - start) / 1000;

// A benchmark measuring 404s is worthless: the objects must be listed, with both images, before anything is timed.
if (refreshFailures.length > 0) throw new Error(`${refreshFailures.length} object summary refreshes failed, e.g. ${refreshFailures[0]}`);
const sample = Array.from({ length: Math.min(50, entries.length) }, (_, i) => Math.floor((i * entries.length) / Math.min(50, entries.length)));
for (const slot of sample) {
  const summary = await stores.objects.get(objectIds[slot]!);
  if (!summary?.listed || summary.images !== 2) {
    throw new Error(`object ${objectIds[slot]} (record ${entries[slot]!.identifier}) is not listed with 2 images: ${JSON.stringify(summary)}`);
  }
}
db.destroy();
console.log(JSON.stringify({ records: entries.length, images: entries.length * 2, seconds, verified: sample.length }));

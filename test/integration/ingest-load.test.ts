/**
 * Ingest under load: 200 keys (the predecessor's test set size) dropped into the local stack at once, with the
 * awkward cases mixed in (identical bytes under other keys, duplicate events, replacements while queued and while
 * processing, deletions right after upload and during processing, identifier clashes, unmappable keys, bad files,
 * restricted and private images). After the queue has drained, every key must have exactly one final outcome
 * (ready, failed with a reason, refused with a reason, deleted, ignored), nothing may be left `processing`, every
 * ready image must be wholly published (its info.json documents name the published revision and every file they
 * promise exists), and the derivative stores must hold nothing but the revisions the items name.
 *
 * Deterministic: the generated images come from a seeded RNG and the outcome of every key does not depend on how
 * the uploads and the queue interleave (the two "during processing" cases report which interleaving they hit).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { infoJsonPlacement } from '../../functions/core/access-layout.ts';
import { infoJsonKey, revisionPrefixes } from '../../functions/core/derivative-layout.ts';
import { identifierForKey } from '../../functions/core/identifier.ts';
import { objectEventsFromMessage, type ObjectEvent } from '../../functions/core/s3-events.ts';
import type { ImageItem, PublishedPyramid } from '../../functions/core/image-item.ts';
import { storedKeyForPath } from '../../functions/core/static-paths.ts';
import { handleObjectEvent, revisionFor, type IngestDeps } from '../../functions/ingest/ingest-object.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { isImageItem, toImageItem } from '../../functions/store/image-items.ts';
import { ObjectStore, type PutOptions } from '../../functions/store/object-store.ts';
import { ensureBuckets } from '../../functions/local/stand-ins.ts';
import { clientUrls } from './client-urls.ts';
import { meanAbsoluteDifference } from '../support/ingest-checks.ts';
import { seededRandom } from '../bench/random.ts';

const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping "Ingest under load": ${SHARED} is absent (it sits beside the checkout in CI)`);

const TOTAL_KEYS = 200;
const SEED = 0x1a9e5eed;

// ---------------------------------------------------------------------------------------------------------------
// The plan: what is uploaded, in which order per key, and what each key must end as.

type Outcome =
  | { kind: 'ready'; access: 'open' | 'restricted-size' | 'private'; size?: { width: number; height: number }; earlier?: Buffer }
  | { kind: 'failed'; reason: RegExp }
  | { kind: 'refused'; reason: RegExp }
  | { kind: 'deleted' }
  | { kind: 'ignored' };

type Step =
  | { op: 'put'; body: Buffer; metadata?: Record<string, string> }
  | { op: 'delete' }
  /** Wait until the ingest has claimed the key's identifier (the item exists), noting whether it was caught mid-way. */
  | { op: 'await-claim' }
  /** Wait until another key's first upload is stored (its event is then queued before this key's). */
  | { op: 'await-upload'; key: string };

interface PlannedKey {
  key: string;
  group: string;
  /** Steps for this key, run in order; keys run concurrently with one another. */
  steps: Step[];
  /** The bytes of the last upload, when the key ends existing. */
  last?: Buffer;
  expected: Outcome;
}


type Format = 'jpeg' | 'png' | 'webp' | 'tiff';
const EXTENSION: Record<Format, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', tiff: 'tif' };

/** A distinct picture per seed: a random 7×5 colour grid, enlarged smoothly, plus a random bar. */
async function generate(seed: number, width: number, height: number, format: Format): Promise<Buffer> {
  const random = seededRandom(seed);
  const grid = Buffer.alloc(7 * 5 * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(random() * 256);
  const bar = { left: Math.floor(random() * width * 0.6), top: Math.floor(random() * height * 0.6), width: Math.max(1, Math.floor(width / 5)), height: Math.max(1, Math.floor(height / 7)) };
  const barColour = { r: Math.floor(random() * 256), g: Math.floor(random() * 256), b: Math.floor(random() * 256) };
  const base = await sharp(grid, { raw: { width: 7, height: 5, channels: 3 } }).resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
  const patch = await sharp({ create: { width: bar.width, height: bar.height, channels: 3, background: barColour } }).raw().toBuffer();
  const image = sharp(base, { raw: { width, height, channels: 3 } }).composite([{ input: patch, raw: { width: bar.width, height: bar.height, channels: 3 }, left: bar.left, top: bar.top }]);
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: 88 }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 3 }).toBuffer();
    case 'webp':
      return image.webp({ quality: 85 }).toBuffer();
    case 'tiff':
      return image.tiff({ compression: 'lzw' }).toBuffer();
  }
}

async function buildPlan(): Promise<PlannedKey[]> {
  const random = seededRandom(SEED);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  let seed = SEED;
  const dimension = () => {
    const r = random();
    if (r < 0.65) return 64 + Math.floor(random() * 640);
    if (r < 0.93) return 700 + Math.floor(random() * 700);
    return 1400 + Math.floor(random() * 601);
  };
  const picture = async (format: Format, width = dimension(), height = dimension()) => ({ body: await generate(++seed, width, height, format), width, height });
  const plan: PlannedKey[] = [];
  const ready = (key: string, group: string, body: Buffer, size?: { width: number; height: number }, extra: Partial<PlannedKey> = {}): PlannedKey => ({
    key, group, steps: [{ op: 'put', body }], last: body, expected: { kind: 'ready', access: 'open', ...(size ? { size } : {}) }, ...extra,
  });

  // Race cases first, so their events are early in the queue: a large master, replaced or deleted while the ingest
  // works on it (the step after `await-claim` runs as soon as the item exists, usually mid-ingest).
  const raceA = await picture('png', 2000, 1800);
  const raceB = await picture('jpeg', 1200, 900);
  plan.push({
    key: 'load/race/replaced-during.png', group: 'replaced while processing',
    steps: [{ op: 'put', body: raceA.body }, { op: 'await-claim' }, { op: 'put', body: raceB.body }],
    last: raceB.body, expected: { kind: 'ready', access: 'open', size: { width: 1200, height: 900 }, earlier: raceA.body },
  });
  const raceD = await picture('png', 1900, 2000);
  plan.push({
    key: 'load/race/deleted-during.png', group: 'deleted while processing',
    steps: [{ op: 'put', body: raceD.body }, { op: 'await-claim' }, { op: 'delete' }], expected: { kind: 'deleted' },
  });

  // Replaced while still queued: the second upload follows the first's completion, long before the queue gets there.
  for (let j = 0; j < 4; j++) {
    const first = await picture(pick(['jpeg', 'png'] as const));
    const second = await picture(pick(['jpeg', 'png', 'webp'] as const));
    plan.push({
      key: `load/replaced/${j}.jpg`, group: 'replaced while queued',
      steps: [{ op: 'put', body: first.body }, { op: 'put', body: second.body }],
      last: second.body, expected: { kind: 'ready', access: 'open', size: { width: second.width, height: second.height }, earlier: first.body },
    });
  }
  // A good master replaced by a broken one: the last upload decides (failed), nothing of the first goes public.
  const goodFirst = await picture('jpeg', 900, 700);
  const broken = (await picture('png', 800, 600)).body.subarray(0, 3000);
  plan.push({
    key: 'load/replaced/broken.png', group: 'replaced by a broken file',
    steps: [{ op: 'put', body: goodFirst.body }, { op: 'put', body: broken }], last: broken, expected: { kind: 'failed', reason: /truncated|damaged|corrupt|decoded/ },
  });
  // Deleted right after upload; deleted and uploaded again. One folder each: s3rver removes a folder left empty by
  // a DELETE, and two DELETEs emptying one folder at once make one of them fail after removing the object, so its
  // notification is never sent (the SDK's retry then finds nothing). A stand-in defect, kept out of this test.
  for (let j = 0; j < 3; j++) {
    const p = await picture('jpeg');
    plan.push({ key: `load/deleted-${j}/master.jpg`, group: 'deleted after upload', steps: [{ op: 'put', body: p.body }, { op: 'delete' }], expected: { kind: 'deleted' } });
  }
  const gone = await picture('jpeg', 640, 480);
  const back = await picture('png', 480, 640);
  plan.push({
    key: 'load/deleted-back/master.png', group: 'deleted and uploaded again',
    steps: [{ op: 'put', body: gone.body }, { op: 'delete' }, { op: 'put', body: back.body }],
    last: back.body, expected: { kind: 'ready', access: 'open', size: { width: 480, height: 640 }, earlier: gone.body },
  });
  // The same bytes twice under one key, concurrently: two events for one object, one revision.
  for (let j = 0; j < 4; j++) {
    const p = await picture('jpeg');
    plan.push(ready(`load/duplicate-event/${j}.jpg`, 'duplicate event', p.body, p, { steps: [{ op: 'put', body: p.body }, { op: 'put', body: p.body }] }));
  }
  // Identifier clashes: the second key is uploaded after the first, so its event comes second and is refused.
  const clashes: [string, string][] = [['load/clash/1829-A.jpg', 'load/clash/1829-A.png'], ['load/clash/a b.tif', 'load/clash/a_b.tif']];
  for (const [owner, other] of clashes) {
    const a = await picture('jpeg');
    const b = await picture('png');
    const ownerId = (identifierForKey(owner) as { identifier: string }).identifier;
    plan.push({
      key: owner, group: 'clash owner', steps: [{ op: 'put', body: a.body }], last: a.body, expected: { kind: 'ready', access: 'open', size: a },
    });
    plan.push({
      key: other, group: 'clash refused',
      // Uploaded once the owner's PUT is done (see runKey): the refusal names the owner.
      steps: [{ op: 'await-upload', key: owner }, { op: 'put', body: b.body }], last: b.body,
      expected: { kind: 'refused', reason: new RegExp(`identifier "${ownerId}" already belongs to "${owner.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`) },
    });
  }
  // Keys that cannot become identifiers, and keys the ingest ignores.
  const junk = await picture('jpeg', 64, 64);
  plan.push({ key: 'ØØ/x.jpg', group: 'unmappable', steps: [{ op: 'put', body: junk.body }], last: junk.body, expected: { kind: 'refused', reason: /no characters usable in a IIIF identifier/ } });
  plan.push({ key: 'load/%%%/y.png', group: 'unmappable', steps: [{ op: 'put', body: junk.body }], last: junk.body, expected: { kind: 'refused', reason: /no characters usable in a IIIF identifier/ } });
  plan.push({ key: `load/${'long-object-number-'.repeat(12)}.jpg`, group: 'unmappable', steps: [{ op: 'put', body: junk.body }], last: junk.body, expected: { kind: 'refused', reason: /identifier would be \d+ characters long \(limit 200\)/ } });
  for (const key of ['load/folder/', 'load/.DS_Store', 'load/Thumbs.db']) {
    const body = key.endsWith('/') ? Buffer.alloc(0) : junk.body;
    plan.push({ key, group: 'ignored', steps: [{ op: 'put', body }], last: body, expected: { kind: 'ignored' } });
  }
  // Bad files: real hostile fixtures and generated ones.
  const hostile: [string, RegExp][] = [
    ['zero-byte.jpg', /empty \(0 bytes\)/],
    ['truncated.jpg', /truncated or damaged/],
    ['truncated.png', /truncated/],
    ['corrupt-header.jpg', /corrupt header|truncated|damaged/],
    ['unopenable.tiff', /corrupt header|decoded|supported/],
    ['65536-uint32-limit.png', /65536×65536 = 4295 megapixels, above the limit/],
    ['seek_too_large.tif', /not a supported image format/],
  ];
  for (const [name, reason] of hostile) {
    const body = readFileSync(join(SHARED, 'hostile', name));
    // The extension kept in the name: truncated.jpg and truncated.png would otherwise clash.
    plan.push({ key: `load/hostile/${name.replace(/\.(\w+)$/, '_$1')}.${name.split('.').pop()}`, group: 'bad file', steps: [{ op: 'put', body }], last: body, expected: { kind: 'failed', reason } });
  }
  const text = Buffer.from('This is a museum label, not a picture of the museum object.\n'.repeat(20));
  plan.push({ key: 'load/bad/label.jpg', group: 'bad file', steps: [{ op: 'put', body: text }], last: text, expected: { kind: 'failed', reason: /not a supported image format/ } });
  const cut = (await picture('jpeg', 1000, 800)).body;
  const cutBody = cut.subarray(0, Math.floor(cut.length / 3));
  plan.push({ key: 'load/bad/cut.jpg', group: 'bad file', steps: [{ op: 'put', body: cutBody }], last: cutBody, expected: { kind: 'failed', reason: /truncated|damaged/ } });
  // Access flags: restricted-size (tiles beyond 800 px to the protected store, a public substitute) and private.
  for (let j = 0; j < 2; j++) {
    const p = await picture('jpeg', 1300 + 100 * j, 1000);
    plan.push({
      key: `kmska.be/restricted-${j}.jpg`, group: 'restricted-size', steps: [{ op: 'put', body: p.body, metadata: { 'in-copyright': 'yes' } }],
      last: p.body, expected: { kind: 'ready', access: 'restricted-size', size: p },
    });
    const q = await picture('png', 700 + 300 * j, 600);
    plan.push({
      key: `kmska.be/private-${j}.png`, group: 'private', steps: [{ op: 'put', body: q.body, metadata: { 'cleared-for-public-use': 'no' } }],
      last: q.body, expected: { kind: 'ready', access: 'private', size: q },
    });
  }
  // Real files from the shared fixtures.
  for (const path of ['jpeg/bentheim_pulver_turm.jpg', 'jpeg/jpg-rgb-64x56x8-baseline.jpg', 'png/rgba.png', 'png/indexed.png', 'tiff/hopper_lzw.tif', 'tiff/G31D_MULTI.TIF', 'webp/sunrise_lossless.webp', 'artwork/starry_night_google.jpg']) {
    const body = readFileSync(join(SHARED, path));
    plan.push(ready(`load/fixtures/${path}`, 'real fixture', body));
  }
  // Identical bytes under other keys: each its own identifier, each ready (filled in below, from plain images).
  const copies = 4;
  // Plain, distinct images fill the plan up to TOTAL_KEYS.
  const institutions = ['mskgent.be', 'kmska.be', 'groeningemuseum.be', 'load'];
  const plain: PlannedKey[] = [];
  const plainCount = TOTAL_KEYS - plan.length - copies;
  for (let i = 0; i < plainCount; i++) {
    const format = pick(['jpeg', 'jpeg', 'jpeg', 'png', 'webp', 'tiff'] as const);
    const p = await picture(format);
    plain.push(ready(`${pick(institutions)}/LOAD-${String(i).padStart(3, '0')}.${EXTENSION[format]}`, 'plain', p.body, p));
  }
  for (let j = 0; j < copies; j++) {
    const original = plain[j * 9]!;
    const expected = original.expected as Extract<Outcome, { kind: 'ready' }>;
    plan.push(ready(`load/copies/copy-${j}.${original.key.split('.').pop()}`, 'identical bytes, other key', original.last!, expected.size));
  }
  // Interleave the plain images with the special cases so the awkward keys sit throughout the queue.
  const mixed: PlannedKey[] = [...plan.slice(0, 2)];
  const rest = plan.slice(2);
  const stride = Math.ceil(plain.length / Math.max(1, rest.length));
  for (let i = 0; i < plain.length; i += stride) {
    mixed.push(...plain.slice(i, i + stride));
    if (rest.length) mixed.push(rest.shift()!);
  }
  mixed.push(...rest);
  return mixed;
}

// ---------------------------------------------------------------------------------------------------------------

let system: LocalSystem;
let plan: PlannedKey[] = [];
let mutations = 0;
const notified: string[] = [];
const caught = new Map<string, 'mid-ingest' | 'after-ingest'>();
const figures = { uploadMs: 0, drainMs: 0, generateMs: 0 };

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');
const identifierOf = (key: string) => {
  const mapped = identifierForKey(key);
  return mapped.kind === 'identifier' ? mapped.identifier : undefined;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function runKey(planned: PlannedKey, firstUpload: Map<string, Deferred>): Promise<void> {
  for (const step of planned.steps) {
    if (step.op === 'put') {
      await system.ingest.putBody(planned.key, step.body, { contentType: 'application/octet-stream', ...(step.metadata ? { metadata: step.metadata } : {}) });
      mutations++;
      await untilStored(system.ingest, planned.key, step.body);
      firstUpload.get(planned.key)!.resolve();
    } else if (step.op === 'delete') {
      await system.s3.send(new DeleteObjectCommand({ Bucket: system.ingestBucket, Key: planned.key }));
      mutations++;
    } else if (step.op === 'await-upload') {
      await firstUpload.get(step.key)!.promise;
    } else {
      // Poll the item until the ingest has claimed it: `processing` means the next step lands mid-ingest.
      const identifier = identifierOf(planned.key)!;
      for (;;) {
        const item = await system.items.get(identifier);
        if (item) {
          caught.set(planned.key, item.status === 'processing' ? 'mid-ingest' : 'after-ingest');
          break;
        }
        await sleep(10);
      }
    }
  }
}

/**
 * s3rver answers a PUT before the object's file is written (its store resolves when the request stream ends, not
 * when the file is flushed), so a DELETE right after can find nothing (no deletion, no event) and a second PUT can
 * interleave with the first's write. S3 itself is read-after-write consistent: wait until the stand-in is too.
 */
async function untilStored(store: ObjectStore, key: string, body: Buffer): Promise<void> {
  const expected = sha256(body);
  for (;;) {
    const stored = await store.getBytes(key);
    if (stored && sha256(Buffer.from(stored)) === expected) return;
    await sleep(5);
  }
}

async function listAll(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.listKeys(prefix)) keys.push(key);
  return keys;
}

/** Keys stored under one revision (its substitute `~{rev}~{L}` included), in one store. */
function underRevision(keys: readonly string[], identifier: string, revision: string): string[] {
  const prefixes = revisionPrefixes(identifier, revision).flatMap((p) => [`${p}/`, `${p}~`]);
  return keys.filter((k) => prefixes.some((p) => k.startsWith(p)));
}

async function pixels(body: Buffer | Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(body).flatten({ background: '#ffffff' }).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
}


describe.skipIf(!haveShared)('Ingest under load', () => {
  let publicKeys: string[] = [];
  let protectedKeys: string[] = [];
  const items = new Map<string, ImageItem>();
  const rawItems = new Map<string, Record<string, unknown>>();
  const refusals = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    const generateStart = performance.now();
    plan = await buildPlan();
    figures.generateMs = Math.round(performance.now() - generateStart);
    system = await startLocalSystem({ port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
    const send = system.queue.send.bind(system.queue);
    vi.spyOn(system.queue, 'send').mockImplementation((body: string) => {
      for (const event of objectEventsFromMessage(body)) notified.push(`${event.kind} ${event.key}`);
      send(body);
    });

    const start = performance.now();
    const firstUpload = new Map(plan.map((planned) => [planned.key, deferred()]));
    await Promise.all(plan.map((planned) => runKey(planned, firstUpload)));
    figures.uploadMs = Math.round(performance.now() - start);
    // s3rver emits each notification before it answers the request, so every event is queued by now.
    await system.queue.idle();
    await sleep(200);
    await system.queue.idle();
    figures.drainMs = Math.round(performance.now() - start);

    publicKeys = await listAll(system.derivatives);
    protectedKeys = await listAll(system.protectedDerivatives);
    // The whole table, read directly (not through an index that may lag): image items and refusals.
    let from: Record<string, unknown> | undefined;
    do {
      const page = await system.db.send(new ScanCommand({ TableName: system.settings.tableName, ...(from ? { ExclusiveStartKey: from } : {}) }));
      for (const raw of page.Items ?? []) {
        if (isImageItem(raw)) {
          const item = toImageItem(raw);
          items.set(item.identifier, item);
          rawItems.set(item.identifier, raw);
        } else if (String(raw.pk).startsWith('REFUSAL#')) {
          refusals.set(String(raw.sourceKey), raw);
        }
      }
      from = page.LastEvaluatedKey;
    } while (from);
  }, 900_000);

  afterAll(async () => {
    await system?.close();
  });

  it('plans 200 distinct keys and queues one notification per upload and deletion', () => {
    expect(new Set(plan.map((p) => p.key)).size).toBe(TOTAL_KEYS);
    expect(plan.length).toBe(TOTAL_KEYS);
    const expected = plan.flatMap((p) => p.steps.flatMap((step) => (step.op === 'put' ? [`created ${p.key}`] : step.op === 'delete' ? [`removed ${p.key}`] : [])));
    expect(notified.sort()).toEqual(expected.sort());
    expect(notified.length).toBe(mutations);
    expect(mutations).toBeGreaterThan(TOTAL_KEYS);
  });

  it('dead-letters nothing and leaves nothing processing', () => {
    expect(system.queue.deadLetters).toEqual([]);
    expect([...items.values()].filter((it) => it.status === 'processing').map((it) => it.identifier)).toEqual([]);
  });

  it('gives every key exactly one final outcome: none lost, none extra', async () => {
    const counts: Record<string, number> = {};
    const expectedIdentifiers = new Set<string>();
    const expectedRefusals = new Set<string>();
    for (const planned of plan) {
      const { key, expected } = planned;
      const identifier = identifierOf(key);
      const refusal = await system.items.getRefusal(key);
      const item = identifier ? items.get(identifier) : undefined;
      counts[expected.kind] = (counts[expected.kind] ?? 0) + 1;
      switch (expected.kind) {
        case 'ready': {
          expect(item, key).toBeDefined();
          expect(item!.status, key).toBe('ready');
          expect(item!.sourceKey, key).toBe(key);
          expect(item!.reason, key).toBeUndefined();
          expect(refusal, key).toBeUndefined();
          expectedIdentifiers.add(identifier!);
          break;
        }
        case 'failed': {
          expect(item, key).toBeDefined();
          expect(item!.status, key).toBe('failed');
          expect(item!.sourceKey, key).toBe(key);
          expect(item!.reason, key).toMatch(expected.reason);
          expect(item!.reason!.split(' ').length, key).toBeGreaterThan(3);
          expect(refusal, key).toBeUndefined();
          // What failed is the last upload: the failure records its checksum.
          const failedSource = rawItems.get(identifier!)?.failedSource as { checksum?: string; size: number } | undefined;
          expect(failedSource?.size, key).toBe(planned.last!.length);
          if (failedSource?.checksum) expect(failedSource.checksum, key).toBe(sha256(planned.last!));
          expectedIdentifiers.add(identifier!);
          break;
        }
        case 'refused': {
          expect(refusal?.reason, key).toMatch(expected.reason);
          if (identifier) expect(item?.sourceKey, key).not.toBe(key);
          expectedRefusals.add(key);
          break;
        }
        case 'deleted': {
          // Deleted before its event ran: never claimed; deleted after the claim: marked deleted.
          if (item) {
            expect(item.status, key).toBe('deleted');
            expect(item.published, key).toBeUndefined();
            expectedIdentifiers.add(identifier!);
          }
          expect(refusal, key).toBeUndefined();
          break;
        }
        case 'ignored': {
          expect(identifier ? items.get(identifier) : undefined, key).toBeUndefined();
          expect(refusal, key).toBeUndefined();
          break;
        }
      }
    }
    // No item and no refusal the plan does not account for.
    expect([...items.keys()].sort()).toEqual([...expectedIdentifiers].sort());
    expect([...refusals.keys()].sort()).toEqual([...expectedRefusals].sort());
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(TOTAL_KEYS);
    summary.outcomes = counts;
  });

  it('publishes the last upload of every ready key, under the revision of its bytes and access', async () => {
    for (const planned of plan) {
      if (planned.expected.kind !== 'ready') continue;
      const item = items.get(identifierOf(planned.key)!)!;
      const published = item.published!;
      expect(published, planned.key).toBeDefined();
      expect(item.source?.checksum, planned.key).toBe(sha256(planned.last!));
      expect(item.source?.size, planned.key).toBe(planned.last!.length);
      expect(published.access?.policy ?? 'open', planned.key).toBe(planned.expected.access);
      expect(published.revision, planned.key).toBe(revisionFor(item.source!.checksum, system.settings, published.access));
      if (planned.expected.size) expect([published.width, published.height], planned.key).toEqual([planned.expected.size.width, planned.expected.size.height]);
      if (published.access?.policy === 'restricted-size') expect(published.substitute, planned.key).toBeDefined();
    }
  });

  it('shows the last upload\'s pixels after a replacement, not the earlier ones', async () => {
    let compared = 0;
    for (const planned of plan) {
      if (planned.expected.kind !== 'ready' || !planned.expected.earlier) continue;
      const identifier = identifierOf(planned.key)!;
      const response = await fetch(`${system.url}/iiif/3/${identifier}/full/max/0/default.jpg`);
      expect(response.status, planned.key).toBe(200);
      const body = Buffer.from(await response.arrayBuffer());
      const { width = 0, height = 0 } = await sharp(body).metadata();
      const shown = await pixels(body, width, height);
      const last = meanAbsoluteDifference(shown, await pixels(planned.last!, width, height));
      const earlier = meanAbsoluteDifference(shown, await pixels(planned.expected.earlier, width, height));
      expect(last, planned.key).toBeLessThan(6);
      expect(earlier, planned.key).toBeGreaterThan(last * 3);
      compared++;
    }
    expect(compared).toBe(6);
  });

  it('publishes ready images whole: both info.json documents name the published revision and every file they promise exists', async () => {
    const stored = new Set([...publicKeys, ...protectedKeys]);
    const publicSet = new Set(publicKeys);
    let urls = 0;
    for (const item of items.values()) {
      if (item.status !== 'ready') continue;
      const { identifier } = item;
      const published = item.published!;
      const revisionId = `${identifier}~${published.revision}`;
      const infoStore = infoJsonPlacement(published.access) === 'public' ? system.derivatives : system.protectedDerivatives;
      const otherStore = infoStore === system.derivatives ? system.protectedDerivatives : system.derivatives;
      for (const version of [3, 2] as const) {
        const current = await infoStore.getBytes(infoJsonKey(version, identifier));
        expect(current, `${identifier} v${version}`).toBeDefined();
        expect(await otherStore.head(infoJsonKey(version, identifier)), `${identifier} v${version} in the other store`).toBeUndefined();
        const info = JSON.parse(Buffer.from(current!).toString('utf8')) as Record<string, unknown>;
        expect(String(info.id ?? info['@id']), identifier).toBe(`${system.settings.publicUrl}/iiif/${version}/${revisionId}`);
        expect([info.width, info.height], identifier).toEqual([published.width, published.height]);
        const immutable = await infoStore.getBytes(infoJsonKey(version, revisionId));
        expect(Buffer.from(immutable ?? []).toString('utf8'), identifier).toBe(Buffer.from(current!).toString('utf8'));
        for (const { url } of clientUrls(info)) {
          const key = storedKeyForPath(decodeURIComponent(new URL(url).pathname));
          expect(key, url).toBeDefined();
          expect(stored.has(key!), url).toBe(true);
          urls++;
        }
        if (published.substitute) {
          const sub = await system.derivatives.getBytes(infoJsonKey(version, published.substitute.identifier));
          expect(sub, `${published.substitute.identifier} v${version}`).toBeDefined();
          for (const { url } of clientUrls(JSON.parse(Buffer.from(sub!).toString('utf8')) as Record<string, unknown>)) {
            const key = storedKeyForPath(decodeURIComponent(new URL(url).pathname));
            expect(key !== undefined && publicSet.has(key), url).toBe(true);
            urls++;
          }
        }
      }
      // The whole revision, no more and no less: its file count is what is stored under it (both stores), plus the
      // two current info.json documents.
      const files = underRevision(publicKeys, identifier, published.revision).length + underRevision(protectedKeys, identifier, published.revision).length;
      expect(files + 2, identifier).toBe(published.files);
      if (published.access?.policy !== 'private') {
        // Served as a viewer asks for it: the stable info.json over HTTP names the revision.
        const response = await fetch(`${system.url}/iiif/3/${identifier}/info.json`);
        expect(response.status, identifier).toBe(200);
        expect(((await response.json()) as { id: string }).id, identifier).toBe(`${system.settings.publicUrl}/iiif/3/${revisionId}`);
      }
    }
    summary.clientUrls = urls;
    expect(urls).toBeGreaterThan(items.size * 4);
  }, 300_000);

  it('stores no duplicate or stray derivatives: only the revisions the items name, nothing of failed, refused or deleted keys', () => {
    // Every stored object is accounted for by exactly one item's published or superseded revision, or is one of
    // a ready item's two current info.json documents.
    const expectedCount = new Map<string, number>(); // `${identifier}~${revision}` → files under it
    const currentInfo = new Set<string>();
    const kept = (identifier: string, pyramid: PublishedPyramid | undefined) => {
      if (pyramid) expectedCount.set(`${identifier}~${pyramid.revision}`, pyramid.files - 2);
    };
    for (const item of items.values()) {
      if (item.status === 'ready') {
        const placement = infoJsonPlacement(item.published!.access);
        for (const version of [3, 2] as const) currentInfo.add(`${placement}:${infoJsonKey(version, item.identifier)}`);
      }
      kept(item.identifier, item.published);
      if (item.superseded) {
        expect(item.superseded.revision, item.identifier).not.toBe(item.published?.revision);
        kept(item.identifier, item.superseded);
      }
      if (item.status === 'deleted') expect(item.superseded === undefined || item.published === undefined, item.identifier).toBe(true);
    }
    const found = new Map<string, number>();
    const stray: string[] = [];
    for (const [placement, keys] of [['public', publicKeys], ['protected', protectedKeys]] as const) {
      for (const key of keys) {
        if (currentInfo.has(`${placement}:${key}`)) continue;
        const service = /^iiif\/[23]\/([^/]+)\//.exec(key)?.[1];
        const [identifier, revision] = service?.split('~') ?? [];
        const name = `${identifier}~${revision}`;
        if (!identifier || !revision || !expectedCount.has(name)) {
          stray.push(`${placement}:${key}`);
          continue;
        }
        found.set(name, (found.get(name) ?? 0) + 1);
      }
    }
    expect(stray).toEqual([]);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(expectedCount));
    // Nothing at all for keys that did not end ready (a failed replacement here never had a published revision).
    for (const planned of plan) {
      if (planned.expected.kind === 'ready') continue;
      const identifier = identifierOf(planned.key);
      if (!identifier || planned.expected.kind === 'refused') continue;
      const item = items.get(identifier);
      if (item?.published) continue;
      const prefixes = [3, 2].flatMap((v) => [`iiif/${v}/${identifier}/`, `iiif/${v}/${identifier}~`]);
      expect([...publicKeys, ...protectedKeys].filter((k) => prefixes.some((p) => k.startsWith(p))), planned.key).toEqual([]);
    }
    const total = [...expectedCount.values()].reduce((a, b) => a + b, 0) + currentInfo.size;
    expect(publicKeys.length + protectedKeys.length).toBe(total);
    summary.objects = { public: publicKeys.length, protected: protectedKeys.length, revisions: expectedCount.size, superseded: [...items.values()].filter((it) => it.superseded).length };
  });

  it('answers 404 for the info.json of deleted and failed images', async () => {
    for (const planned of plan) {
      if (planned.expected.kind !== 'deleted' && planned.expected.kind !== 'failed') continue;
      const identifier = identifierOf(planned.key)!;
      if (items.get(identifier)?.published) continue;
      expect((await fetch(`${system.url}/iiif/3/${identifier}/info.json`)).status, planned.key).toBe(404);
    }
    console.log(
      `ingest under load: ${TOTAL_KEYS} keys, ${mutations} uploads and deletions, outcomes ${JSON.stringify(summary.outcomes)}; ` +
        `race cases ${JSON.stringify(Object.fromEntries(caught))}; stored ${JSON.stringify(summary.objects)}, ${summary.clientUrls} client URLs checked; ` +
        `dead letters ${system.queue.deadLetters.length}; images generated in ${(figures.generateMs / 1000).toFixed(1)} s, ` +
        `uploads done after ${(figures.uploadMs / 1000).toFixed(1)} s, queue drained after ${(figures.drainMs / 1000).toFixed(1)} s ` +
        `(${((TOTAL_KEYS * 1000) / figures.drainMs).toFixed(1)} keys/s)`,
    );
  });
});

const summary: { outcomes?: Record<string, number>; objects?: Record<string, number>; clientUrls?: number } = {};

// ---------------------------------------------------------------------------------------------------------------
// On AWS up to 20 ingest invocations run at once (SQS maximumConcurrency), so two events of one key can be handled
// concurrently, which the one-at-a-time local queue never does. These cases run two consumers of the real
// handleObjectEvent side by side and hold the first at a chosen write, so the interleaving is exact, not timed.

describe('Ingest with two consumers at once (Lambda concurrency)', () => {
  let local: LocalSystem;
  const bucket = 'imagehub-ingest-concurrent';
  let ingest: ObjectStore;
  let deps: IngestDeps;

  beforeAll(async () => {
    local = await startLocalSystem({ port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
    // A bucket the local queue does not watch: only the two consumers below handle its events.
    await ensureBuckets(local.s3, [bucket]);
    ingest = new ObjectStore(local.s3, bucket);
    deps = { s3: local.s3, derivatives: local.derivatives, protectedDerivatives: local.protectedDerivatives, items: local.items, settings: local.settings, decideAccess: (request) => local.access.decide(request) };
  }, 60_000);
  afterAll(async () => {
    await local?.close();
  });

  /** The public store, except that the first put of `key` signals `reached` and waits for `release`. */
  class HeldStore extends ObjectStore {
    readonly reached = deferred();
    readonly release = deferred();
    private held = false;
    constructor(
      base: ObjectStore,
      private readonly holdAt: string,
    ) {
      super(base.s3, base.bucket);
    }
    override async putBody(key: string, body: string | Uint8Array, options: PutOptions): Promise<void> {
      if (key === this.holdAt && !this.held) {
        this.held = true;
        this.reached.resolve();
        await this.release.promise;
      }
      return super.putBody(key, body, options);
    }
  }

  async function put(key: string, body: Buffer): Promise<ObjectEvent> {
    await ingest.putBody(key, body, { contentType: 'application/octet-stream' });
    await untilStored(ingest, key, body);
    const head = await ingest.head(key);
    return { kind: 'created', bucket, key, etag: head!.etag! };
  }

  async function everyKeyOf(identifier: string): Promise<string[]> {
    const keys: string[] = [];
    for (const store of [local.derivatives, local.protectedDerivatives]) {
      for (const version of [3, 2]) {
        keys.push(...(await listAll(store, `iiif/${version}/${identifier}/`)), ...(await listAll(store, `iiif/${version}/${identifier}~`)));
      }
    }
    return keys;
  }

  /** The stable info.json documents name the item's published revision, and every file they promise exists. */
  async function expectWhole(identifier: string, item: ImageItem): Promise<void> {
    const revisionId = `${identifier}~${item.published!.revision}`;
    const stored = new Set(await everyKeyOf(identifier));
    for (const version of [3, 2] as const) {
      const current = await local.derivatives.getBytes(infoJsonKey(version, identifier));
      expect(current, `v${version} stable info.json`).toBeDefined();
      const info = JSON.parse(Buffer.from(current!).toString('utf8')) as Record<string, unknown>;
      expect(String(info.id ?? info['@id'])).toBe(`${local.settings.publicUrl}/iiif/${version}/${revisionId}`);
      for (const { url } of clientUrls(info)) expect(stored.has(storedKeyForPath(decodeURIComponent(new URL(url).pathname)) ?? ''), url).toBe(true);
    }
    const files = (await everyKeyOf(identifier)).filter((k) => k.includes(`~${item.published!.revision}`)).length;
    expect(files + 2).toBe(item.published!.files);
  }

  const cases = [
    { name: 'overtaken before the first consumer published its item', holdAt: 'revision' as const, second: 'replacement' as const },
    { name: 'overtaken between the first consumer\'s item and its stable info.json', holdAt: 'stable' as const, second: 'replacement' as const },
    { name: 'replaced by a broken file while the first is in flight', holdAt: 'revision' as const, second: 'broken' as const },
    { name: 'master deleted while the first is in flight', holdAt: 'revision' as const, second: 'deletion' as const },
  ];

  it.each(cases)('$name: the last upload decides, nothing is half-published, nothing is left behind', async ({ holdAt, second }) => {
    const key = `load/concurrent/${holdAt}-${second}.png`;
    const identifier = identifierOf(key)!;
    const first = await generate(SEED + 1000 + cases.findIndex((c) => c.holdAt === holdAt && c.second === second), 1500, 1100, 'png');
    const firstEvent = await put(key, first);
    const firstRevision = revisionFor(sha256(first), local.settings);
    const held = new HeldStore(local.derivatives, holdAt === 'revision' ? infoJsonKey(3, `${identifier}~${firstRevision}`) : infoJsonKey(3, identifier));
    const slow = handleObjectEvent(firstEvent, { ...deps, derivatives: held });
    await held.reached.promise;

    let last: Buffer | undefined;
    if (second === 'deletion') {
      await local.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      expect((await handleObjectEvent({ kind: 'removed', bucket, key }, deps)).status).toBe('deleted');
    } else {
      last = second === 'broken' ? Buffer.from('not an image, uploaded over a good one') : await generate(SEED + 2000, 640, 480, 'jpeg');
      const outcome = await handleObjectEvent(await put(key, last), deps);
      expect(outcome.status).toBe(second === 'broken' ? 'failed' : 'ready');
    }
    held.release.resolve();
    await slow;

    const item = (await local.items.get(identifier))!;
    if (second === 'replacement') {
      expect(item.status).toBe('ready');
      expect(item.source?.checksum).toBe(sha256(last!));
      await expectWhole(identifier, item);
      // Only the published revision and the one it names as superseded may remain.
      const revisions = new Set((await everyKeyOf(identifier)).filter((k) => k.includes('~')).map((k) => k.split('~')[1]!.split('/')[0]));
      expect([...revisions].sort()).toEqual([item.published!.revision, item.superseded?.revision].filter((r) => r !== undefined).sort());
    } else {
      // A broken replacement fails, a deletion deletes; the first upload's pyramid goes public in neither case,
      // unless (broken replacement, held at the stable info.json) the first had already been published.
      expect(item.status).toBe(second === 'broken' ? 'failed' : 'deleted');
      if (item.published) {
        await expectWhole(identifier, item);
      } else {
        expect(await everyKeyOf(identifier)).toEqual([]);
      }
    }
  });
});

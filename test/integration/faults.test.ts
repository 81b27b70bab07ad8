/**
 * Storage faults, injected on the wire: the whole local system (real ingest handler behind the local queue, real
 * router, real harvester) talks to S3 and DynamoDB through fault-injecting proxies (test/support/fault-proxy.ts) in
 * front of the stand-ins. Throttling, 5xx, timeouts, dropped connections and replies lost after the write was
 * applied are drawn from seeded generators.
 *
 * What must hold: the SDK's retries (back-off with jitter) and the queue's redelivery carry every ingest and every
 * harvested record through to the same result a fault-free run gives; requests answered while storage fails are
 * 503 with Retry-After, never 500.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { runHarvest, systemClock } from '../../functions/harvest/harvest.ts';
import { encodeKeyLikeS3 } from '../../functions/local/local-queue.ts';
import { startStandIns, type StandIns } from '../../functions/local/stand-ins.ts';
import { DEAD_LETTER_FILE, startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { HarvestStateStore, RecordStore } from '../../functions/store/records.ts';
import { describeHarvestState } from '../../functions/core/mirror.ts';
import { collection } from '../support/datahub-records.ts';
import { ALL_FAULTS, startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startOaiServer, type OaiServer } from '../support/oai-server.ts';
import { runImagehub } from '../support/processes.ts';
import type { DeadLetter } from '../../functions/store/dead-letters.ts';
import { noiseMaster, settle, storedFiles } from '../support/ingest-checks.ts';
import { clientUrls } from './client-urls.ts';

let standIns: StandIns;
let s3Faults: FaultProxy;
let dbFaults: FaultProxy;
let system: LocalSystem;
let oai: OaiServer | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'imagehub-faults-'));
const savedCredentials = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(async () => {
  standIns = await startStandIns();
  s3Faults = await startFaultProxy(standIns.s3Endpoint, 's3', 20261125);
  dbFaults = await startFaultProxy(standIns.dynamoEndpoint, 'dynamodb', 9);
  // External endpoints use the SDK's credential chain; the stand-ins accept these.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  system = await startLocalSystem({
    port: 0,
    quiet: true,
    dataDir,
    env: {
      AWS_ENDPOINT_URL_S3: s3Faults.url,
      AWS_ENDPOINT_URL_DYNAMODB: dbFaults.url,
      // A stalled request is abandoned after half a second (and retried), so injected timeouts cost little time.
      IMAGEHUB_STORAGE_TIMEOUT_MS: '500',
      IMAGEHUB_LOCAL_RETRY_MS: '100',
      IMAGEHUB_DEMO: '0',
      PATH: process.env.PATH,
    },
  });
  // With external endpoints the system hears no notifications itself: the stand-in's go to its queue, as S3's would.
  standIns.onObjectEvent((message) => {
    const records = (message.Records as { s3: { bucket: { name: string }; object: { key: string } } }[]).filter((r) => r.s3.bucket.name === system.ingestBucket);
    for (const r of records) r.s3.object.key = encodeKeyLikeS3(r.s3.object.key);
    if (records.length > 0) system.queue.send(JSON.stringify({ Records: records }));
  });
}, 60_000);

afterAll(async () => {
  s3Faults?.plan(undefined);
  dbFaults?.plan(undefined);
  await oai?.close();
  await system?.close();
  await s3Faults?.close();
  await dbFaults?.close();
  await standIns?.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.env.AWS_ACCESS_KEY_ID = savedCredentials.id;
  process.env.AWS_SECRET_ACCESS_KEY = savedCredentials.secret;
  if (savedCredentials.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  if (savedCredentials.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
});

function faultsOff(): void {
  s3Faults.plan(undefined);
  dbFaults.plan(undefined);
}

function totalFaults(proxy: FaultProxy): number {
  return ALL_FAULTS.reduce((sum, kind) => sum + proxy.stats[kind], 0);
}



/** The URLs OpenSeadragon, Leaflet and thumbnails derive from an image's current info.json (3.0 and 2.1). */
async function clientUrlsOf(identifier: string): Promise<string[]> {
  const urls: string[] = [];
  for (const version of [3, 2]) {
    const response = await fetch(`${system.url}/iiif/${version}/${identifier}/info.json`);
    expect(response.status, `${identifier} info.json ${version}`).toBe(200);
    urls.push(...clientUrls((await response.json()) as Parameters<typeof clientUrls>[0]).map((u) => u.url));
  }
  return urls;
}


describe('ingest through storage faults', () => {
  const images = [
    { seed: 1, width: 1800, height: 1200 },
    { seed: 2, width: 900, height: 1400 },
    { seed: 3, width: 2400, height: 600 },
    { seed: 4, width: 640, height: 480 },
    { seed: 5, width: 1500, height: 1500 },
    { seed: 6, width: 300, height: 200 },
  ];
  const results: { faulted: ImageItem; clean: ImageItem }[] = [];

  beforeAll(async () => {
    const masters = await Promise.all(images.map((i) => noiseMaster(i.seed, i.width, i.height)));
    // The reference: the same masters ingested with no faults.
    faultsOff();
    for (const [i, body] of masters.entries()) await system.ingest.putBody(`clean/image-${i}.jpg`, body, { contentType: 'image/jpeg' });
    await settle(system);
    // The uploads themselves go through cleanly (the uploader is not under test); everything after is faulted.
    for (const [i, body] of masters.entries()) await system.ingest.putBody(`faulted/image-${i}.jpg`, body, { contentType: 'image/jpeg' });
    s3Faults.plan({ rate: 0.1, kinds: ALL_FAULTS });
    dbFaults.plan({ rate: 0.1, kinds: ALL_FAULTS });
    await settle(system);
    faultsOff();
    for (const i of masters.keys()) {
      const faulted = await system.items.get(`faulted:image-${i}`);
      const clean = await system.items.get(`clean:image-${i}`);
      if (!faulted || !clean) throw new Error(`image ${i} has no item`);
      results.push({ faulted, clean });
    }
  }, 240_000);

  it('met every kind of fault, on both services', () => {
    for (const kind of ALL_FAULTS) {
      expect(s3Faults.stats[kind] + dbFaults.stats[kind], kind).toBeGreaterThan(0);
    }
    expect(totalFaults(s3Faults)).toBeGreaterThan(10);
    expect(totalFaults(dbFaults)).toBeGreaterThan(0);
    console.log(`ingest faults injected: S3 ${JSON.stringify(s3Faults.stats)}, DynamoDB ${JSON.stringify(dbFaults.stats)}`);
  });

  it('ends every image ready, nothing dead-lettered', () => {
    expect(system.queue.deadLetters).toEqual([]);
    for (const { faulted, clean } of results) {
      expect(faulted.status, `${faulted.identifier}: ${faulted.reason ?? ''}`).toBe('ready');
      expect(clean.status).toBe('ready');
    }
  });

  it('publishes exactly what a fault-free run publishes: the same revision, the same files, nothing more', async () => {
    for (const { faulted, clean } of results) {
      expect(faulted.published!.revision).toBe(clean.published!.revision);
      expect(faulted.published!.files).toBe(clean.published!.files);
      const [faultedFiles, cleanFiles] = [await storedFiles(system, faulted), await storedFiles(system, clean)];
      expect(faultedFiles).toEqual(cleanFiles);
      expect(faultedFiles.filter((key) => !key.includes('~REV') && !/\/ID\/info\.json$/.test(key)), 'files of another revision').toEqual([]);
      expect(faultedFiles.length).toBe(faulted.published!.files);
    }
  });

  it('serves every URL a client derives from the faulted images\' info.json', async () => {
    for (const { faulted } of results) {
      for (const url of await clientUrlsOf(faulted.identifier)) {
        const response = await fetch(url);
        await response.arrayBuffer();
        expect(response.status, url).toBe(200);
      }
    }
  });
});

describe('harvest through DynamoDB faults', () => {
  it('mirrors every record a fault-free harvest mirrors', async () => {
    const made = collection(60);
    oai = await startOaiServer(made.map((m) => m.record), { pageSize: 20 });
    const records = new RecordStore(system.db, system.settings.tableName);
    const state = new HarvestStateStore(system.db, system.settings.tableName);
    dbFaults.plan({ rate: 0.15, kinds: ALL_FAULTS });
    const before = totalFaults(dbFaults);
    const report = await runHarvest({ fetch: (url, init) => fetch(url, init), clock: systemClock, source: 'faulted-hub', baseUrl: oai.url, records, state });
    const injected = totalFaults(dbFaults) - before;
    faultsOff();
    console.log(`harvest under faults: ${injected} DynamoDB faults injected (${JSON.stringify(dbFaults.stats)}); added ${report.added}, unchanged ${report.unchanged}, updated ${report.updated}, skipped ${report.skipped}, pages ${report.pages}`);
    expect(injected).toBeGreaterThan(5);
    // A write whose reply was lost is applied; its retry then finds the record already there (counted unchanged).
    expect(report.added + report.unchanged + report.updated).toBe(60);
    expect(report.skipped).toBe(0);
    const mirrored: string[] = [];
    for await (const entry of records.listSourceIds('faulted-hub')) mirrored.push(entry.recordId);
    expect(mirrored.sort()).toEqual(made.map((m) => m.record.identifier).sort());
    for (const m of made) {
      const stored = await records.get(m.record.identifier);
      expect(stored?.record?.objectNumber, m.record.identifier).toBe(m.objectNumber);
      expect(await records.rawXml(m.record.identifier)).toBe(m.record.xml.trim());
    }
    expect(describeHarvestState(await state.get('faulted-hub')).status).toBe('done');
  }, 180_000);
});

describe('serving through storage faults', () => {
  async function paths(): Promise<string[]> {
    const item = await system.items.get('faulted:image-0');
    const tiles = await clientUrlsOf('faulted:image-0');
    return [
      ...tiles.slice(0, 20),
      `${system.url}/iiif/3/faulted:image-0/info.json`,
      `${system.url}/iiif/2/faulted:image-0/info.json`,
      `${system.url}/iiif/3/faulted:image-0/100,100,500,400/250,/90/gray.png`,
      `${system.url}/iiif/2/faulted:image-0/pct:10,10,50,50/!300,300/0/default.webp`,
      `${system.url}/iiif/3/faulted:image-0~${item!.published!.revision}/full/max/0/default.jpg`,
      `${system.url}/iiif/presentation/3/collection/top.json`,
    ];
  }

  it('answers 200 or 503 with Retry-After, never 500, and mostly 200 thanks to the retries', async () => {
    const urls = await paths();
    s3Faults.plan({ rate: 0.1, kinds: ALL_FAULTS });
    dbFaults.plan({ rate: 0.1, kinds: ALL_FAULTS });
    const statuses: Record<number, number> = {};
    for (let round = 0; round < 4; round++) {
      const answers = await Promise.all(
        urls.map(async (url) => {
          const response = await fetch(url);
          await response.arrayBuffer();
          if (response.status === 503) expect(Number(response.headers.get('retry-after')), url).toBeGreaterThan(0);
          return response.status;
        }),
      );
      for (const status of answers) statuses[status] = (statuses[status] ?? 0) + 1;
    }
    faultsOff();
    console.log(`serving under 10 % faults: ${JSON.stringify(statuses)}`);
    expect(Object.keys(statuses).map(Number).every((status) => status === 200 || status === 503), JSON.stringify(statuses)).toBe(true);
    // Five attempts per storage request: at 10 % faults a request fails only when all five do.
    expect(statuses[200] ?? 0).toBeGreaterThanOrEqual(urls.length * 4 - 2);
  }, 120_000);

  it('answers 503 with Retry-After, not 500, while storage is down', async () => {
    const urls = (await paths()).filter((url) => url.includes('info.json') || url.includes('gray') || url.includes('collection'));
    dbFaults.plan({ rate: 1, kinds: ['throttle', 'server-error', 'reset'] });
    s3Faults.plan({ rate: 1, kinds: ['throttle', 'server-error', 'reset'] });
    const answers = await Promise.all(urls.map(async (url) => {
      const response = await fetch(url);
      return { url, status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
    }));
    faultsOff();
    for (const answer of answers) {
      expect(answer.status, answer.url).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      expect(answer.body).toMatch(/storage is busy or unreachable/);
    }
    // Storage back: the same requests succeed.
    for (const url of urls) expect((await fetch(url)).status, url).toBe(200);
  }, 120_000);
});

describe('permanent failures: dead letters with their reason, replayed by imagehub redrive', () => {
  it('parks an ingest that fails on every attempt with why, and replays it once the cause is gone', async () => {
    const body = await noiseMaster(7, 800, 600);
    // The derivative store refuses every write: no retry can help, the ingest must give up and say why.
    s3Faults.plan({ rate: 1, kinds: ['server-error'], match: (r) => r.method === 'PUT' && r.url.startsWith(`/${system.settings.derivativeBucket}/`) });
    await system.ingest.putBody('broken/store.jpg', body, { contentType: 'image/jpeg' });
    await settle(system);
    faultsOff();

    const item = await system.items.get('broken:store');
    expect(item?.status).toBe('failed');
    expect(item?.reason).toMatch(/^gave up after 3 attempts on broken\/store\.jpg: .*internal error/i);
    expect(system.queue.deadLetters).toHaveLength(1);
    const letter = system.queue.deadLetters[0]!;
    expect(letter.reason).toBe(item?.reason);
    expect(letter.attempts).toBe(3);
    // Kept in the data folder: a restart does not lose it.
    const file = join(dataDir, DEAD_LETTER_FILE);
    expect(existsSync(file)).toBe(true);
    expect((JSON.parse(readFileSync(file, 'utf8')) as DeadLetter[]).map((l) => l.reason)).toEqual([item?.reason]);

    const listed = await runImagehub(['redrive', '--list', '--data', dataDir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`${system.ingestBucket}/broken/store.jpg: gave up after 3 attempts`);
    expect(listed.stderr).toContain('1 dead letter');
    expect(system.queue.deadLetters).toHaveLength(1);

    const redriven = await runImagehub(['redrive', '--data', dataDir, '--json']);
    expect(redriven.code, redriven.stderr).toBe(0);
    expect((JSON.parse(redriven.stdout) as { redriven: { keys: string[] }[] }).redriven.map((l) => l.keys)).toEqual([[`${system.ingestBucket}/broken/store.jpg`]]);
    await settle(system);
    expect((await system.items.get('broken:store'))?.status).toBe('ready');
    expect(system.queue.deadLetters).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);

    const again = await runImagehub(['redrive', '--data', dataDir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('0 dead letters replayed');
  }, 180_000);
});

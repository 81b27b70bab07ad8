/**
 * The Presentation API through the one-machine system (the router CloudFront's behaviour mirrors), with the real
 * ingest and the real record store: records loaded from the real VKC fixtures, images ingested through the
 * pipeline, in both orders (image first, record first), and every document validated against the Presentation 3
 * schema.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLidoFiles } from '../../functions/harvest/files.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { FIXTURES } from '../support/datahub-records.ts';
import { validatePresentation3 } from '../support/presentation-schema.ts';
import { join } from 'node:path';

const SOURCE = 'https://datahub.vlaamsekunstcollectie.be/oai';
const P3 = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"';
let system: LocalSystem;

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
}, 60_000);

afterAll(async () => {
  await system?.close();
});

async function image(width: number, height: number, hue: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: hue, g: 255 - hue, b: 120 } } }).jpeg().toBuffer();
}

async function upload(key: string, body: Buffer, metadata?: Record<string, string>): Promise<void> {
  await system.ingest.putBody(key, body, { contentType: 'image/jpeg', ...(metadata ? { metadata } : {}) });
  await new Promise((r) => setTimeout(r, 300));
  await system.queue.idle();
}

async function loadRecord(file: string): Promise<void> {
  const report = await loadLidoFiles({ paths: [join(FIXTURES, file)], records: system.stores.records, source: SOURCE });
  expect(report.skipped, JSON.stringify(report.skippedRecords)).toBe(0);
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${system.url}${path}`, { headers, redirect: 'manual' });
}

interface Doc {
  id: string;
  type: string;
  items: { id: string; type: string; width?: number; height?: number; items?: { items: { body: { id: string; service: { id?: string; '@id'?: string; type?: string; '@type'?: string }[] } }[] }[] }[];
  [key: string]: unknown;
}

async function document(path: string): Promise<Doc> {
  const response = await get(path);
  expect(response.status, await response.clone().text()).toBe(200);
  const doc = (await response.json()) as Doc;
  expect(validatePresentation3(doc)).toEqual([]);
  return doc;
}

describe('record first, then its image', () => {
  it('answers 404 with the reason until an image is ready, then a valid manifest with the image', async () => {
    await loadRecord('1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
    const before = await get('/iiif/presentation/3/mskgent.be:1829-A/manifest.json');
    expect(before.status).toBe(404);
    expect(await before.text()).toMatch(/has a record but no image is ready yet/);

    await upload('mskgent.be/1829-A.jpg', await image(1200, 800, 30));
    const response = await get('/iiif/presentation/3/mskgent.be:1829-A/manifest.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(P3);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=10');
    const manifest = (await response.json()) as Doc;
    expect(validatePresentation3(manifest)).toEqual([]);
    expect(manifest.id).toBe(`${system.url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`);
    expect(manifest.items).toHaveLength(1);
    const canvas = manifest.items[0]!;
    expect([canvas.width, canvas.height]).toEqual([1200, 800]);
    const body = canvas.items![0]!.items[0]!.body;
    const published = (await system.items.get('mskgent.be:1829-A'))!.published!;
    expect(body.service[0]!.id).toBe(`${system.url}/iiif/3/mskgent.be:1829-A~${published.revision}`);
    expect(body.service[1]!['@id']).toBe(`${system.url}/iiif/2/mskgent.be:1829-A~${published.revision}`);
    expect(manifest.seeAlso).toEqual([expect.objectContaining({
      id: `${SOURCE}?verb=GetRecord&metadataPrefix=oai_lido&identifier=oai%3Adatahub.vlaamsekunstcollectie.be%3Amskgent.be%3A1829-A`,
      label: expect.objectContaining({ en: ['Object Description in XML'] }),
    })]);

    // The image service the manifest names answers, and its info.json carries the same id (Mirador compares).
    const info = (await (await get(`/iiif/3/mskgent.be:1829-A~${published.revision}/info.json`)).json()) as { id: string };
    expect(info.id).toBe(body.service[0]!.id);
    // Its body URL is served.
    const pixels = await fetch(body.id);
    expect(pixels.status).toBe(200);
    expect((await sharp(Buffer.from(await pixels.arrayBuffer())).metadata()).width).toBe(1200);
  });

  it('revalidates with the ETag: 304 while nothing changed', async () => {
    const first = await get('/iiif/presentation/3/mskgent.be:1829-A/manifest.json');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await get('/iiif/presentation/3/mskgent.be:1829-A/manifest.json', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });
});

describe('images first, then the record', () => {
  it('lists both images in their sort order as soon as the record lands, and a replaced image changes the manifest', async () => {
    await upload('groeningemuseum.be/0000.GRO0208.I-verso.jpg', await image(600, 900, 200), { 'object-number': '0000.GRO0208.I', 'sort-number': '2' });
    await upload('groeningemuseum.be/0000.GRO0208.I.jpg', await image(900, 600, 90), { 'sort-number': '1' });
    const none = await get('/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json');
    expect(none.status).toBe(404);
    expect(await none.text()).toMatch(/no object groeningemuseum.be:0000_GRO0208_I: the mirror holds no active record/);

    await loadRecord('1LidoMulImage__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml');
    const manifest = await document('/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json');
    expect(manifest.items.map((canvas) => [canvas.width, canvas.height])).toEqual([[900, 600], [600, 900]]);
    expect(manifest.items.map((canvas) => canvas.id.split('/canvas/')[1])).toEqual(['groeningemuseum.be:0000.GRO0208.I', 'groeningemuseum.be:0000.GRO0208.I-verso']);

    const etag = (await get('/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json')).headers.get('etag')!;
    await upload('groeningemuseum.be/0000.GRO0208.I.jpg', await image(1000, 600, 140), { 'sort-number': '1' });
    const replaced = await get('/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json', { 'if-none-match': etag });
    expect(replaced.status).toBe(200);
    expect(((await replaced.json()) as Doc).items[0]!.width).toBe(1000);
  });
});

describe('collections', () => {
  it('top → institution → manifests, each valid, referencing and never embedding', async () => {
    const top = await document('/iiif/presentation/3/collection/top.json');
    const institutions = top.items.map((item) => item.id);
    expect(institutions).toEqual(expect.arrayContaining([
      `${system.url}/iiif/presentation/3/collection/mskgent.be.json`,
      `${system.url}/iiif/presentation/3/collection/groeningemuseum.be.json`,
    ]));
    const groeninge = await document('/iiif/presentation/3/collection/groeningemuseum.be.json');
    expect(groeninge.items).toEqual([expect.objectContaining({ id: `${system.url}/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json`, type: 'Manifest' })]);
    expect(groeninge.items[0]).not.toHaveProperty('items');
  });

  it('an object whose image is deleted leaves its collection and its manifest says why', async () => {
    await loadRecord('MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml');
    await upload('kmska.be/257.jpg', await image(500, 700, 10));
    expect((await document('/iiif/presentation/3/collection/kmska.be.json')).items.map((item) => item.id)).toEqual([`${system.url}/iiif/presentation/3/kmska.be:257/manifest.json`]);
    await system.s3.send(new DeleteObjectCommand({ Bucket: system.ingestBucket, Key: 'kmska.be/257.jpg' }));
    await new Promise((r) => setTimeout(r, 300));
    await system.queue.idle();
    expect((await get('/iiif/presentation/3/kmska.be:257/manifest.json')).status).toBe(404);
    const kmska = await get('/iiif/presentation/3/collection/kmska.be.json');
    // The institution stays known; its collection is empty.
    expect(((await kmska.json()) as Doc).items).toEqual([]);
  });
});

describe('lookup and errors', () => {
  it.each([
    ['?objectNumber=0000.GRO0208.I&institution=groeningemuseum.be', 'groeningemuseum.be:0000_GRO0208_I'],
    ['?dataPid=https://mskgent.be/collection/work/data/1829-A', 'mskgent.be:1829-A'],
    ['?workPid=http://mskgent.be/collection/work/id/1829-A', 'mskgent.be:1829-A'],
    ['?recordId=oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A', 'mskgent.be:1829-A'],
  ])('lookup%s → 303 to %s', async (query, objectId) => {
    const response = await get(`/iiif/presentation/3/lookup${query}`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${system.url}/iiif/presentation/3/${objectId}/manifest.json`);
  });

  it.each([
    ['/iiif/presentation/3/nothing-here/manifest.json', 400, /not an object id/],
    ['/iiif/presentation/3/mskgent.be:9999-Z/manifest.json', 404, /no object mskgent.be:9999-Z/],
    ['/iiif/presentation/3/lookup', 400, /look objects up by/],
    ['/iiif/presentation/3/collection/nowhere.org.json', 404, /no collection nowhere.org/],
    ['/iiif/presentation/4/x/manifest.json', 404, /not found/],
    ['/iiif/presentation/3/%E0%A4%A/manifest.json', 400, /percent-encoding/],
  ])('%s → %i', async (path, status, reason) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toMatch(reason);
  });

  it('Presentation 2.1 manifests for older consumers', async () => {
    const response = await get('/iiif/presentation/2/mskgent.be:1829-A/manifest.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/ld+json;profile="http://iiif.io/api/presentation/2/context.json"');
    const manifest = (await response.json()) as { '@type': string; sequences: { canvases: { width: number }[] }[] };
    expect(manifest['@type']).toBe('sc:Manifest');
    expect(manifest.sequences[0]!.canvases[0]!.width).toBe(1200);
  });
});

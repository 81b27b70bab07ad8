/**
 * The real ingest handler against the embedded S3 and DynamoDB stand-ins on loopback, fed by real S3
 * notifications, with the real fixture images; results read back over HTTP the way viewers read them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { storedKeyForPath } from '../../functions/core/static-paths.ts';
import { clientUrls } from './client-urls.ts';
import { meanAbsoluteDifference, settle } from '../support/ingest-checks.ts';

const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping the fixture sweep: ${SHARED} is absent (it sits beside the checkout in CI)`);

let system: LocalSystem;

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
});
afterAll(async () => {
  await system?.close();
});

async function upload(key: string, body: Buffer, metadata?: Record<string, string>): Promise<void> {
  await system.ingest.putBody(key, body, { contentType: 'application/octet-stream', ...(metadata ? { metadata } : {}) });
}


async function item(identifier: string): Promise<ImageItem> {
  const found = await system.items.get(identifier);
  if (!found) throw new Error(`no item for ${identifier}`);
  return found;
}

async function fetchImage(url: string): Promise<{ status: number; width?: number; height?: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) return { status: response.status, body, headers: response.headers };
  const meta = await sharp(body).metadata();
  return { status: 200, width: meta.width, height: meta.height, body, headers: response.headers };
}

const fixture = (path: string) => readFileSync(join(SHARED, path));

describe.skipIf(!haveShared)('ingest of real fixtures', () => {
  const groups = ['metadata', 'orientation', 'color', 'tiff', 'png', 'webp', 'gif', 'jpeg', 'artwork', 'heif', 'jp2', 'iiif-validator', 'hostile'];
  const expected = new Map<string, string>(); // identifier → fixture path

  beforeAll(async () => {
    for (const group of groups) {
      for (const name of readdirSync(join(SHARED, group))) {
        // Fixtures share base names across formats (sunrise.jpg/.webp/.avif): keep the extension in the name.
        const unique = name.replace(/\.([A-Za-z0-9]+)$/, '_$1');
        await upload(`fixtures/${group}/${unique}.${name.split('.').pop()}`, fixture(`${group}/${name}`));
        expected.set(`fixtures:${group}:${unique}`, `${group}/${name}`);
      }
    }
    await settle(system);
  }, 300_000);

  it('gives every uploaded file a final status: ready, or failed with a reason', async () => {
    for (const identifier of expected.keys()) {
      const it = await item(identifier);
      expect(['ready', 'failed'], identifier).toContain(it.status);
      if (it.status === 'failed') expect(it.reason?.split(' ').length, identifier).toBeGreaterThan(4);
    }
    expect(system.queue.deadLetters).toEqual([]);
  });

  it.each([
    ['hostile:zero-byte_jpg', /empty \(0 bytes\)/],
    ['hostile:truncated_jpg', /truncated or damaged/],
    ['hostile:truncated_jpeg_jpg', /truncated or damaged/],
    ['hostile:truncated_png', /truncated/],
    ['hostile:corrupt-header_jpg', /corrupt header|truncated|damaged/],
    ['hostile:65536-uint32-limit_png', /65536×65536 = 4295 megapixels, above the limit/],
    ['hostile:17000x17000_avif', /not a supported|megapixels|decoded/],
    ['hostile:unopenable_tiff', /corrupt header|decoded|supported/],
    ['hostile:libtiff_segfault_tif', /corrupt header|decoded|supported/],
    ['hostile:seek_too_large_tif', /not a supported image format/],
    ['hostile:decompression_bomb_gif', /corrupt header|truncated|decoded/],
  ])('refuses %s: %s', async (name, reason) => {
    const it = await item(`fixtures:${name}`);
    expect(it.status).toBe('failed');
    expect(it.reason).toMatch(reason);
    expect(it.published).toBeUndefined();
  });

  it('accepts hostile files that are in fact valid images, judged by their bytes', async () => {
    const wrongExtension = await item('fixtures:hostile:jpg-incorrect-extension_png');
    expect(wrongExtension.status).toBe('ready');
    expect(wrongExtension.source?.format).toBe('jpeg');
    const textBomb = await item('fixtures:hostile:png_decompression_dos_png');
    expect(textBomb.status).toBe('ready');
    expect(textBomb.published).toMatchObject({ width: 1, height: 1 });
  });

  it('ingests every decodable format group', async () => {
    for (const identifier of [
      'fixtures:artwork:bentheim_jpg', 'fixtures:tiff:caillebotte_tif', 'fixtures:tiff:tif-rgb-1res-64x56x8-tiled-uncompressed-bigtiff_tif',
      'fixtures:tiff:tiff_16bit_RGB_tiff', 'fixtures:tiff:16bit.deflate_tif', 'fixtures:tiff:hopper_lzw_tif', 'fixtures:tiff:tif-rgb-1res-64x56x8-tiled-jpeg_tif',
      'fixtures:png:rgba_png', 'fixtures:png:tbgn2c16_png', 'fixtures:png:pil123p_png', 'fixtures:webp:sunrise_lossless_webp', 'fixtures:webp:transparent_webp',
      'fixtures:gif:hopper_gif', 'fixtures:gif:rotating-squares_gif', 'fixtures:heif:example_avif', 'fixtures:color:tiff_strip_cmyk_jpeg_tif',
    ]) {
      expect((await item(identifier)).status, identifier).toBe('ready');
    }
  });

  it('publishes pyramids whose every client-derived URL exists, for Image API 3.0 and 2.1', async () => {
    const ready = [];
    for (const identifier of expected.keys()) if ((await item(identifier)).status === 'ready') ready.push(identifier);
    expect(ready.length).toBeGreaterThan(60);
    let checked = 0;
    for (const identifier of ready) {
      for (const version of [3, 2] as const) {
        const response = await fetch(`${system.url}/iiif/${version}/${identifier}/info.json`);
        expect(response.status, identifier).toBe(200);
        const info = (await response.json()) as Record<string, unknown>;
        const id = String(info.id ?? info['@id']);
        expect(id.startsWith(`${system.url}/iiif/${version}/${identifier}~`)).toBe(true);
        for (const { url, width, height } of clientUrls(info)) {
          // Served from storage as the CDN serves it (the viewer-request mapping, then the bucket), not rendered
          // by the Image API behind it: level-0 clients must never depend on the dynamic service.
          const key = storedKeyForPath(decodeURIComponent(new URL(url).pathname));
          expect(key, url).toBeDefined();
          expect(await system.derivatives.head(key!), url).toBeDefined();
          const image = await fetchImage(url);
          expect(image.status, url).toBe(200);
          expect([image.width, image.height], url).toEqual([width, height]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  }, 300_000);

  it('ingests JPEG 2000 masters through the WebAssembly decoder, colour-managed through their ICC profile', async () => {
    for (const name of ['test-card-lossless', 'test-card-lossy-tiled', '16bit.cropped', 'jp2-6res-rgb-64x56x8-multitiled-reversible', 'jp2-6res-rgb-64x56x8-multitiled-lossy']) {
      expect((await item(`fixtures:jp2:${name}_jp2`)).status, name).toBe('ready');
    }
    const validator = 'fixtures:iiif-validator:67352ccc-d1b0-11e1-89ae-279075081939';
    expect((await item(`${validator}_jp2`)).source).toMatchObject({ format: 'jp2', width: 1000, height: 1000 });
    const fromJp2 = await sharp((await fetchImage(`${system.url}/iiif/3/${validator}_jp2/full/max/0/default.jpg`)).body).raw().toBuffer();
    const fromPng = await sharp((await fetchImage(`${system.url}/iiif/3/${validator}_png/full/max/0/default.jpg`)).body).raw().toBuffer();
    expect(psnr(fromJp2, fromPng)).toBeGreaterThan(35);
    // ColorSpin rotates hues: only a colour-managed decode paints the label "Rot" (top centre) red.
    const colorSpin = await item('fixtures:color:47102787_jp2');
    expect(colorSpin.source?.iccProfile).toBe('ColorSpin');
    const label = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:color:47102787_jp2/full/max/0/default.jpg`)).body)
      .extract({ left: 380, top: 180, width: 40, height: 70 }).raw().toBuffer();
    let red = 0;
    let other = 0;
    for (let i = 0; i < label.length; i += 3) {
      const [r, g, b] = [label[i]!, label[i + 1]!, label[i + 2]!];
      if (Math.max(r, g, b) < 120) continue;
      if (r > 180 && g < 90 && b < 90) red++;
      else other++;
    }
    expect(red).toBeGreaterThan(50);
    expect(other).toBeLessThan(red / 4);
  });

  it('ingests HEVC-coded HEIC through the WebAssembly decoder, and AV1-coded HEIF (AVIF) through sharp', async () => {
    for (const [name, width, height] of [['example_heic', 1280, 854], ['hopper_heif', 128, 128], ['example_avif', 800, 533]] as const) {
      const it = await item(`fixtures:heif:${name}`);
      expect(it.status, name).toBe('ready');
      expect(it.source, name).toMatchObject({ format: 'heif', width, height });
      expect(it.published, name).toMatchObject({ width, height });
    }
    // The same portrait coded as HEVC and as AV1 publishes the same picture.
    const fromHeic = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:heif:hopper_heif/full/max/0/default.jpg`)).body).raw().toBuffer();
    const fromAvif = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:heif:hopper_avif/full/max/0/default.jpg`)).body).raw().toBuffer();
    expect(psnr(fromHeic, fromAvif)).toBeGreaterThan(28);
    // The photograph decoded independently by Debian's vips CLI (native libheif and libde265). sharp sets VIPSHOME
    // to its own prefix on load, where Debian's vips would look for its heif module: drop it for the child.
    const referencePng = join(tmpdir(), `heic-reference-${process.pid}.png`);
    const env = { ...process.env };
    delete env.VIPSHOME;
    execFileSync('vips', ['copy', join(SHARED, 'heif/example.heic'), referencePng], { env });
    const fromExample = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:heif:example_heic/full/max/0/default.jpg`)).body).raw().toBuffer();
    // Measured 33 dB: the tiles' JPEG coding of a detailed photograph; the decodes themselves agree to 48 dB.
    expect(psnr(fromExample, await sharp(referencePng).removeAlpha().raw().toBuffer())).toBeGreaterThan(30);
  });

  it('applies EXIF orientation: all eight orientations publish the same upright picture', async () => {
    const upright = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:orientation:Landscape_1_jpg/full/max/0/default.jpg`)).body).raw().toBuffer();
    for (let n = 2; n <= 8; n++) {
      const it = await item(`fixtures:orientation:Landscape_${n}_jpg`);
      expect(it.published).toMatchObject({ width: 1800, height: 1200 });
      const pixels = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:orientation:Landscape_${n}_jpg/full/max/0/default.jpg`)).body).raw().toBuffer();
      expect(meanAbsoluteDifference(pixels, upright), `orientation ${n}`).toBeLessThan(6);
    }
  });

  it('converts CMYK, 16-bit, grey and wide-gamut masters to 8-bit sRGB through their ICC profiles', async () => {
    for (const identifier of ['fixtures:color:jpeg_with_cmyk_profile_jpg', 'fixtures:color:pil_sample_cmyk_jpg', 'fixtures:color:jpeg_with_p3_profile_jpg', 'fixtures:tiff:tiff_16bit_RGB_tiff', 'fixtures:color:concert_jpg']) {
      const tile = await fetchImage(`${system.url}/iiif/3/${identifier}/full/max/0/default.jpg`);
      const meta = await sharp(tile.body).metadata();
      expect(meta.space, identifier).toBe('srgb');
      expect(meta.depth, identifier).toBe('uchar');
      expect(meta.channels, identifier).toBe(3);
    }
    // The CMYK master converted independently by Debian's vips CLI (libvips 8.14, lcms2) through its embedded profile.
    const ours = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:color:jpeg_with_cmyk_profile_jpg/full/max/0/default.jpg`)).body).raw().toBuffer();
    const referencePng = join(tmpdir(), `cmyk-reference-${process.pid}.png`);
    execFileSync('vips', ['icc_transform', join(SHARED, 'color/jpeg_with_cmyk_profile.jpg'), referencePng, 'srgb', '--embedded']);
    const reference = await sharp(referencePng).raw().toBuffer();
    expect(meanAbsoluteDifference(ours, reference)).toBeLessThan(4);
    const it = await item('fixtures:color:jpeg_with_cmyk_profile_jpg');
    expect(it.source).toMatchObject({ colourSpace: 'cmyk', iccProfile: 'U.S. Web Coated (SWOP) v2' });
  });

  it('flattens alpha onto white', async () => {
    const source = await sharp(fixture('webp/transparent.webp')).raw().toBuffer({ resolveWithObject: true });
    expect(source.info.channels).toBe(4);
    const published = await sharp((await fetchImage(`${system.url}/iiif/3/fixtures:webp:transparent_webp/full/max/0/default.jpg`)).body)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(published.info.channels).toBe(3);
    // Fully transparent source pixels come out white, not black (a few differ by JPEG ringing at edges).
    let transparent = 0;
    let sum = 0;
    let dark = 0;
    for (let p = 0; p < source.info.width * source.info.height; p++) {
      if (source.data[p * 4 + 3] !== 0) continue;
      const value = Math.min(published.data[p * 3]!, published.data[p * 3 + 1]!, published.data[p * 3 + 2]!);
      transparent++;
      sum += value;
      if (value < 128) dark++;
    }
    expect(transparent).toBeGreaterThan(100);
    expect(sum / transparent).toBeGreaterThan(245);
    expect(dark).toBe(0);
  });

  it('keeps rights metadata in the item and in every derivative', async () => {
    const it = await item('fixtures:metadata:sunrise_jpg');
    expect(it.embedded).toMatchObject({ copyright: expect.stringContaining('Bj'), creator: expect.stringContaining('Pedersen') });
    const iptcOnly = await item('fixtures:metadata:IPTC_jpg');
    // IPTC-IIM only (no XMP, no EXIF rights): read from the Photoshop IRB block.
    expect(iptcOnly.embedded).toMatchObject({ creator: 'Phil Harvey', copyright: 'Copyright 2004 Phil Harvey', credit: 'My Credit' });
    const reference = await item('fixtures:metadata:IPTC-PhotometadataRef-Std2021.1_jpg');
    expect(reference.embedded).toMatchObject({
      creator: expect.stringContaining('Creator1'),
      copyright: expect.stringContaining('Copyright (Notice) 2021.1 IPTC'),
      credit: expect.stringContaining('Credit Line'),
    });
    const tile = await fetchImage(`${system.url}/iiif/3/fixtures:metadata:sunrise_jpg/0,0,512,512/512,512/0/default.jpg`);
    const meta = await sharp(tile.body).metadata();
    expect(meta.icc?.length).toBeGreaterThan(0);
    expect(meta.xmp?.toString()).toContain(it.embedded!.copyright!.slice(0, 10));
    expect(meta.exif?.toString('latin1')).toContain('Pedersen');
  });

  it('records source facts: checksum, format, pages chosen', async () => {
    const multi = await item('fixtures:tiff:G31D_MULTI_TIF');
    expect(multi.source).toMatchObject({ format: 'tiff', pages: 2 });
    const pyramid = await item('fixtures:tiff:caillebotte_tif');
    expect(pyramid.source).toMatchObject({ page: 0, width: 4993, height: 3877, iccProfile: 'Adobe RGB (1998)' });
    expect(pyramid.source?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('replace, delete and identifier clashes', () => {
  it('republishes a replaced master under a new revision and deletes the master\'s derivatives on removal', async () => {
    const first = await sharp({ create: { width: 1100, height: 700, channels: 3, background: { r: 200, g: 10, b: 10 } } }).jpeg().toBuffer();
    const second = await sharp({ create: { width: 900, height: 1300, channels: 3, background: { r: 10, g: 10, b: 200 } } }).jpeg().toBuffer();
    const third = await sharp({ create: { width: 600, height: 600, channels: 3, background: { r: 10, g: 200, b: 10 } } }).png().toBuffer();
    await upload('museum/replace-me.jpg', first);
    await settle(system);
    const v1 = (await item('museum:replace-me')).published!;
    await upload('museum/replace-me.jpg', second);
    await settle(system);
    const v2 = (await item('museum:replace-me')).published!;
    expect(v2.revision).not.toBe(v1.revision);
    expect([v2.width, v2.height]).toEqual([900, 1300]);
    const info = (await (await fetch(`${system.url}/iiif/3/museum:replace-me/info.json`)).json()) as { id: string; width: number };
    expect(info.id).toContain(v2.revision);
    expect(info.width).toBe(900);
    // Viewers still holding the old info.json keep getting the old, consistent tiles.
    expect((await fetchImage(`${system.url}/iiif/3/museum:replace-me~${v1.revision}/full/max/0/default.jpg`)).width).toBe(1100);

    await upload('museum/replace-me.jpg', third);
    await settle(system);
    const v3 = (await item('museum:replace-me')).published!;
    expect((await fetchImage(`${system.url}/iiif/3/museum:replace-me~${v2.revision}/full/max/0/default.jpg`)).status).toBe(200);
    expect((await fetchImage(`${system.url}/iiif/3/museum:replace-me~${v1.revision}/full/max/0/default.jpg`)).status).toBe(404);
    expect(v3.revision).not.toBe(v2.revision);

    await system.s3.send(new DeleteObjectCommand({ Bucket: system.ingestBucket, Key: 'museum/replace-me.jpg' }));
    await settle(system);
    const deleted = await item('museum:replace-me');
    expect(deleted.status).toBe('deleted');
    expect(deleted.published).toBeUndefined();
    expect((await fetch(`${system.url}/iiif/3/museum:replace-me/info.json`)).status).toBe(404);
    const left = [];
    for await (const key of system.derivatives.listKeys('iiif/3/museum:replace-me')) left.push(key);
    for await (const key of system.derivatives.listKeys('iiif/2/museum:replace-me')) left.push(key);
    expect(left).toEqual([]);
  });

  it('refuses a second master that maps to an identifier another key owns, and keeps the first', async () => {
    const image = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#888' } }).jpeg().toBuffer();
    await upload('museum/1829-A.jpg', image);
    await settle(system);
    await upload('museum/1829-A.png', await sharp(image).png().toBuffer());
    await settle(system);
    const owner = await item('museum:1829-A');
    expect(owner).toMatchObject({ status: 'ready', sourceKey: 'museum/1829-A.jpg' });
    const refusal = await system.items.getRefusal('museum/1829-A.png');
    expect(refusal?.reason).toMatch(/already belongs to "museum\/1829-A.jpg"/);
  });

  it('records a refusal for keys that cannot map and ignores folder markers', async () => {
    await upload('ØØ/x.jpg', Buffer.from('not even an image'));
    await upload('museum/folder/', Buffer.alloc(0));
    await settle(system);
    expect((await system.items.getRefusal('ØØ/x.jpg'))?.reason).toMatch(/no characters usable/);
    expect(await system.items.getRefusal('museum/folder/')).toBeUndefined();
  });

  it('takes link hints from the key, S3 metadata and the embedded description', async () => {
    const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } })
      .withExif({ IFD0: { ImageDescription: 'http://kmska.be/collection/work/data/257' } })
      .jpeg()
      .toBuffer();
    await upload('kmska.be/257.jpg', image, { 'sort-number': '2', 'work-pid': 'http://kmska.be/collection/work/id/257' });
    await settle(system);
    expect((await item('kmska.be:257')).links).toEqual({
      institution: 'kmska.be',
      objectNumber: '257',
      sortNumber: 2,
      workPid: 'http://kmska.be/collection/work/id/257',
      dataPid: 'http://kmska.be/collection/work/data/257',
    });
  });
});

function psnr(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (squared / a.length));
}


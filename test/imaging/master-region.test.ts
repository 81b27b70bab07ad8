/**
 * Regions read from TIFF masters by byte ranges (geotiff), checked against libvips reading the whole master: the
 * samples and the rendered answer must be the very pixels, for every layout and compression the reader accepts,
 * and a small crop of a large master must read a small fraction of it.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceDescription } from '../../functions/core/image-item.ts';
import type { Region } from '../../functions/core/pyramid.ts';
import {
  MasterRegionUnavailable,
  readMasterRegion,
  renderMasterRegion,
  type MasterRegion,
  type RangeSource,
} from '../../functions/imaging/master-region.ts';
import { inDerivativeColour } from '../../functions/imaging/pyramid.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const PAINTING = readFileSync(resolve(HERE, '../fixtures/images/bentheim.jpg'));
const SHARED = resolve(HERE, '../../../shared/fixtures/images');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping the master-region tests on real TIFF fixtures: ${SHARED} is absent`);

/** A master in memory, read through a RangeSource that counts what it hands out. */
function memorySource(bytes: Buffer): RangeSource & { bytes: number; reads: number } {
  return {
    size: bytes.length,
    bytes: 0,
    reads: 0,
    async read(offset, length) {
      this.bytes += length;
      this.reads += 1;
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A master on disk, read by positioned reads as S3 serves ranges. */
function fileSource(path: string): RangeSource & { bytes: number; reads: number; close(): void } {
  const fd = openSync(path, 'r');
  return {
    size: statSync(path).size,
    bytes: 0,
    reads: 0,
    async read(offset, length) {
      this.bytes += length;
      this.reads += 1;
      const out = Buffer.alloc(length);
      readSync(fd, out, 0, length, offset);
      return out;
    },
    close: () => closeSync(fd),
  };
}

const PLAIN = { rotation: { degrees: 0, mirror: false }, quality: 'default', format: 'png', jpegQuality: 85 } as const;

/** What ingest knows of a master, from libvips' reading of it. */
async function describeMaster(master: Buffer | string, page = 0): Promise<Pick<SourceDescription, 'hasAlpha' | 'iccProfile' | 'colourSpace'>> {
  const m = await sharp(master, { page }).metadata();
  return { hasAlpha: m.hasAlpha ?? false, colourSpace: m.space ?? 'unknown', ...(m.icc ? { iccProfile: 'embedded' } : {}) };
}

/** The region as the tile pass sees it: libvips decodes the whole master, then the ingest's colour recipe. */
async function expectedPixels(master: Buffer | string, region: Region, page = 0): Promise<Buffer> {
  const cut = sharp(master, { page }).extract({ left: region.x, top: region.y, width: region.w, height: region.h });
  return (await inDerivativeColour(cut, await describeMaster(master, page)).raw().toBuffer()) as Buffer;
}

async function renderedPixels(region: MasterRegion, master: Buffer | string, page = 0): Promise<Buffer> {
  const png = await renderMasterRegion(region, await describeMaster(master, page), PLAIN);
  return sharp(png).raw().toBuffer();
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** The master's own samples in the region, as libvips decodes them (no colour step). */
async function masterSamples(master: Buffer | string, region: Region, sixteen: boolean): Promise<Uint8Array | Uint16Array> {
  const cut = sharp(master).extract({ left: region.x, top: region.y, width: region.w, height: region.h });
  const raw = await (sixteen ? cut.toColourspace('rgb16').raw({ depth: 'ushort' }) : cut.raw()).toBuffer();
  return sixteen ? new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) : raw;
}

const REGION: Region = { x: 301, y: 157, w: 517, h: 389 };

describe('regions of TIFF masters made by libvips', () => {
  let rgb: Sharp;
  beforeAll(() => {
    rgb = sharp(PAINTING).resize(1500);
  });

  const layouts: [string, (image: Sharp) => Sharp][] = [
    ['striped, uncompressed', (i) => i.tiff({ compression: 'none' })],
    ['striped, LZW with predictor', (i) => i.tiff({ compression: 'lzw', predictor: 'horizontal' })],
    ['striped, PackBits', (i) => i.tiff({ compression: 'packbits' })],
    ['tiled, deflate with predictor', (i) => i.tiff({ compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 256, tileHeight: 256 })],
    ['tiled, uncompressed BigTIFF', (i) => i.tiff({ compression: 'none', tile: true, tileWidth: 128, tileHeight: 128, bigtiff: true })],
    ['tiled, JPEG (RGB-coded, as libvips writes it)', (i) => i.tiff({ compression: 'jpeg', quality: 90, tile: true, tileWidth: 256, tileHeight: 256 })],
    ['striped, JPEG (RGB-coded)', (i) => i.tiff({ compression: 'jpeg', quality: 90 })],
    ['grey, tiled deflate', (i) => i.toColourspace('b-w').tiff({ compression: 'deflate', tile: true })],
    ['grey, JPEG', (i) => i.toColourspace('b-w').tiff({ compression: 'jpeg', tile: true })],
    ['RGBA, striped LZW (alpha flattened like the tiles)', (i) => i.ensureAlpha(0.6).tiff({ compression: 'lzw' })],
  ];

  for (const [name, write] of layouts) {
    it(`${name}: the very pixels libvips decodes, through the same colour recipe`, async () => {
      const master = await write(rgb.clone()).toBuffer();
      const source = memorySource(master);
      const region = await readMasterRegion(source, { page: 0, region: REGION });
      expect([region.width, region.height, region.bitsPerSample]).toEqual([REGION.w, REGION.h, 8]);
      expect(region.data.length).toBe(REGION.w * REGION.h * region.channels);
      expect(maxDifference(await renderedPixels(region, master), await expectedPixels(master, REGION))).toBe(0);
      expect(region.bytesRead).toBe(source.bytes);
    });
  }

  it('reads 16-bit RGB samples exactly and renders them as ingest does (8-bit sRGB)', async () => {
    const master = await rgb.clone().toColourspace('rgb16').tiff({ compression: 'deflate', predictor: 'horizontal', tile: true }).toBuffer();
    expect((await sharp(master).metadata()).depth).toBe('ushort');
    const region = await readMasterRegion(memorySource(master), { page: 0, region: REGION });
    expect(region.bitsPerSample).toBe(16);
    expect(region.data).toBeInstanceOf(Uint16Array);
    expect(maxDifference(region.data, await masterSamples(master, REGION, true))).toBe(0);
    expect(maxDifference(await renderedPixels(region, master), await expectedPixels(master, REGION))).toBe(0);
  });

  it('colour-manages CMYK with its ICC profile into sRGB, tagged, exactly like the tile pass', async () => {
    const master = await rgb.clone().withIccProfile('cmyk').tiff({ compression: 'lzw' }).toBuffer();
    const meta = await sharp(master).metadata();
    expect([meta.space, meta.channels, Boolean(meta.icc)]).toEqual(['cmyk', 4, true]);
    const region = await readMasterRegion(memorySource(master), { page: 0, region: REGION });
    expect([region.channels, region.photometric, region.icc?.length]).toEqual([4, 5, meta.icc!.length]);
    expect(maxDifference(await renderedPixels(region, master), await expectedPixels(master, REGION))).toBe(0);
    const png = await renderMasterRegion(region, await describeMaster(master), PLAIN);
    expect((await sharp(png).metadata()).icc).toBeDefined();
  });

  it('reads the chosen page of a pyramidal TIFF', async () => {
    const master = await rgb.clone().tiff({ compression: 'deflate', tile: true, pyramid: true }).toBuffer();
    const region = await readMasterRegion(memorySource(master), { page: 1, region: { x: 10, y: 20, w: 300, h: 200 } });
    expect(maxDifference(await renderedPixels(region, master, 1), await expectedPixels(master, { x: 10, y: 20, w: 300, h: 200 }, 1))).toBe(0);
  });

  it('renders mirrored, rotated and grey answers through the Image API finishing step', async () => {
    const master = await rgb.clone().tiff({ compression: 'lzw' }).toBuffer();
    const region = await readMasterRegion(memorySource(master), { page: 0, region: REGION });
    const description = await describeMaster(master);
    const turned = await renderMasterRegion(region, description, { ...PLAIN, rotation: { degrees: 90, mirror: true }, quality: 'gray', format: 'tif' });
    const meta = await sharp(turned).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['tiff', REGION.h, REGION.w]);
    const want = await sharp(await expectedPixels(master, REGION), { raw: { width: REGION.w, height: REGION.h, channels: 3 } })
      .png()
      .toBuffer()
      .then((p) => sharp(p).flop().png().toBuffer())
      .then((p) => sharp(p).rotate(90).grayscale().raw().toBuffer());
    const got = await sharp(turned).toColourspace('b-w').raw().toBuffer();
    expect(maxDifference(got, want)).toBeLessThanOrEqual(1);
  });
});

describe('what the master reader refuses (the Image API answers from the pyramid)', () => {
  it('refuses a region that would read more than the byte budget, before reading any block', async () => {
    const master = await sharp(PAINTING).tiff({ compression: 'none' }).toBuffer();
    const source = memorySource(master);
    const read = readMasterRegion(source, { page: 0, region: { x: 0, y: 0, w: 3000, h: 2000 } }, { maxBytesRead: 1_000_000, maxDecodedBytes: 1e9 });
    await expect(read).rejects.toBeInstanceOf(MasterRegionUnavailable);
    await expect(read).rejects.toThrow(/above 1000000/);
    expect(source.bytes).toBeLessThan(200_000); // header, directory and offset tables only
  });

  it('refuses a narrow crop of a striped master whose whole rows would decode beyond the decode budget', async () => {
    const master = await sharp(PAINTING).tiff({ compression: 'lzw' }).toBuffer();
    const read = readMasterRegion(memorySource(master), { page: 0, region: { x: 0, y: 0, w: 10, h: 2000 } }, { maxBytesRead: 1e9, maxDecodedBytes: 4_000_000 });
    await expect(read).rejects.toThrow(/would decode to/);
  });

  it('refuses regions outside the page, pages that do not exist, and files that are not TIFF', async () => {
    const master = await sharp(PAINTING).resize(300).tiff().toBuffer();
    await expect(readMasterRegion(memorySource(master), { page: 0, region: { x: 200, y: 0, w: 101, h: 10 } })).rejects.toThrow(/outside page 0/);
    await expect(readMasterRegion(memorySource(master), { page: 3, region: { x: 0, y: 0, w: 10, h: 10 } })).rejects.toBeInstanceOf(MasterRegionUnavailable);
    await expect(readMasterRegion(memorySource(PAINTING), { page: 0, region: { x: 0, y: 0, w: 10, h: 10 } })).rejects.toBeInstanceOf(MasterRegionUnavailable);
  });

  it('reads a big-endian TIFF whose offset tables sit in its directory, and refuses one where geotiff 3.0.5 would misread them', async () => {
    const pixels = await sharp(PAINTING).resize(200, 150, { fit: 'fill' }).raw().toBuffer();
    const compact = bigEndianTiff(pixels, 200, 150, 50); // 3 strips: offsets inline in the directory's first kilobyte
    const region = { x: 20, y: 30, w: 100, h: 100 };
    const read = await readMasterRegion(memorySource(compact), { page: 0, region });
    expect(maxDifference(read.data, await masterSamples(compact, region, false))).toBe(0);
    const scattered = bigEndianTiff(pixels, 200, 150, 1); // 150 strips: tables before the directory, deferred by geotiff
    await expect(readMasterRegion(memorySource(scattered), { page: 0, region })).rejects.toThrow(/big-endian/);
  });
});

describe('a small crop of a large tiled master', () => {
  let work: string;
  let path: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'imagehub-master-region-'));
    path = join(work, 'large.tif');
    await sharp(PAINTING)
      .resize(8000, 6000, { fit: 'fill' })
      .tiff({ compression: 'deflate', predictor: 'horizontal', tile: true, tileWidth: 256, tileHeight: 256 })
      .toFile(path);
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reads a small fraction of the file in a few ranged reads, and the pixels are the master’s', async () => {
    const source = fileSource(path);
    const region = { x: 4100, y: 3050, w: 512, h: 512 };
    try {
      const read = await readMasterRegion(source, { page: 0, region });
      const fraction = source.bytes / source.size;
      console.info(`512×512 crop of an 8000×6000 tiled deflate TIFF: ${source.bytes} of ${source.size} bytes (${(fraction * 100).toFixed(2)} %) in ${source.reads} reads`);
      expect(fraction).toBeLessThan(0.03); // 9 of 768 tiles (1.2 %), the header and the offset tables
      expect(source.reads).toBeLessThan(12);
      expect(maxDifference(read.data, await masterSamples(path, region, false))).toBe(0);
    } finally {
      source.close();
    }
  });
});

describe.skipIf(!haveShared)('real TIFF fixtures', () => {
  const file = (name: string) => readFileSync(resolve(SHARED, name));
  const readable = [
    'tiff/16bit.deflate.tif',
    'tiff/bentheim_mill_pyramid.tif',
    'tiff/boxes.tiff',
    'tiff/caillebotte.tif',
    'tiff/hopper_lzw.tif',
    'tiff/samvera_256.tif',
    'tiff/tif-rgb-1res-64x56x8-striped-lzw.tif',
    'tiff/tif-rgb-1res-64x56x8-tiled-jpeg.tif', // RGB-coded JPEG blocks, component ids R, G, B
    'tiff/tif-rgb-1res-64x56x8-tiled-uncompressed-bigtiff.tif',
    'tiff/tif-rgb-1res-64x56x8-tiled-zip.tif',
    'tiff/tif-rgb-3res-64x56x16-tiled-uncompressed.tif',
    'tiff/tif-rgba-1res-64x56x16-tiled-lzw.tif',
    'tiff/tiff_16bit_RGB.tiff',
    'tiff/tiff_adobe_deflate.tif',
    'metadata/tifftag-photoshop.tiff',
    'metadata/tif-iptc.tif',
  ];
  for (const name of readable) {
    it(`${name}: the region renders exactly as libvips and the ingest's colour recipe make it`, async () => {
      const master = file(name);
      const { width, height } = await sharp(master).metadata();
      const region = { x: Math.floor(width / 5), y: Math.floor(height / 4), w: Math.ceil(width / 2), h: Math.ceil(height / 2) };
      const read = await readMasterRegion(memorySource(master), { page: 0, region });
      expect(maxDifference(await renderedPixels(read, master), await expectedPixels(master, region))).toBe(0);
    });
  }

  const refused: [string, RegExp][] = [
    ['tiff/tif-bw-9image.tif', /compression 4/], // CCITT G4 bilevel
    ['tiff/multipage.tiff', /bits per sample 1/], // 1-bit palette
    ['color/tiff_strip_cmyk_jpeg.tif', /JPEG-compressed photometric 5/],
  ];
  for (const [name, reason] of refused) {
    it(`${name}: refused (${reason.source})`, async () => {
      await expect(readMasterRegion(memorySource(file(name)), { page: 0, region: { x: 0, y: 0, w: 8, h: 8 } })).rejects.toThrow(reason);
    });
  }
});

/**
 * A big-endian ("MM") uncompressed RGB TIFF, which libvips cannot write. With few strips the offset tables follow
 * the directory; with many they are written before it, beyond what geotiff reads with the directory.
 */
function bigEndianTiff(pixels: Buffer, width: number, height: number, rowsPerStrip: number): Buffer {
  const strips = Math.ceil(height / rowsPerStrip);
  const rowBytes = width * 3;
  const tables = strips * 8 + 6; // offsets, counts, bits per sample
  const tablesAt = strips > 1 && strips * 8 > 512 ? 8 : -1; // before the directory when large
  const entries = 10;
  const ifdAt = tablesAt === 8 ? 8 + tables : 8;
  const afterIfd = ifdAt + 2 + entries * 12 + 4;
  const tableStart = tablesAt === 8 ? 8 : afterIfd;
  const dataAt = (tablesAt === 8 ? afterIfd : afterIfd + tables) + 16;
  const out = Buffer.alloc(dataAt + pixels.length);
  out.write('MM', 0, 'latin1');
  out.writeUInt16BE(42, 2);
  out.writeUInt32BE(ifdAt, 4);
  const offsetsAt = tableStart;
  const countsAt = tableStart + strips * 4;
  const bitsAt = tableStart + strips * 8;
  for (let s = 0; s < strips; s++) {
    out.writeUInt32BE(dataAt + s * rowsPerStrip * rowBytes, offsetsAt + s * 4);
    out.writeUInt32BE(Math.min(rowsPerStrip, height - s * rowsPerStrip) * rowBytes, countsAt + s * 4);
  }
  for (let i = 0; i < 3; i++) out.writeUInt16BE(8, bitsAt + i * 2);
  const fields: [number, number, number, number][] = [
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 3, bitsAt],
    [259, 3, 1, 1],
    [262, 3, 1, 2],
    [273, 4, strips, strips === 1 ? dataAt : offsetsAt],
    [277, 3, 1, 3],
    [278, 4, 1, rowsPerStrip],
    [279, 4, strips, strips === 1 ? pixels.length : countsAt],
    [284, 3, 1, 1],
  ];
  out.writeUInt16BE(entries, ifdAt);
  fields.forEach(([tag, type, count, value], i) => {
    const at = ifdAt + 2 + i * 12;
    out.writeUInt16BE(tag, at);
    out.writeUInt16BE(type, at + 2);
    out.writeUInt32BE(count, at + 4);
    if (type === 3 && count === 1) out.writeUInt16BE(value, at + 8);
    else out.writeUInt32BE(value, at + 8);
  });
  pixels.copy(out, dataAt);
  return out;
}

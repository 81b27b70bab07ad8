import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MasterRejectedError } from '../../functions/imaging/errors.ts';
import { decodeHeic, readJp2Boxes, type DecodedImage } from '../../functions/imaging/foreign-decoders.ts';
import { openMaster } from '../../functions/imaging/master.ts';
import { buildHeic } from './heif-files.ts';

const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping HEIC decoder tests: ${SHARED} is absent`);

/** Debian's vips CLI links the native libheif and libde265: an independent HEVC decoder to compare against. */
function debianVipsEnv(): NodeJS.ProcessEnv {
  // sharp sets VIPSHOME to its own prefix on load; Debian's vips would then look for its heif module there.
  const env = { ...process.env };
  delete env.VIPSHOME;
  return env;
}

const haveVips = (() => {
  try {
    execFileSync('vips', ['--version'], { stdio: 'ignore', env: debianVipsEnv() });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveShared)('HEIC decoding', () => {
  const file = (path: string) => readFileSync(resolve(SHARED, path));
  const work = mkdtempSync(join(tmpdir(), 'imagehub-heic-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const open = async (name: string, bytes: Buffer) => {
    const path = join(work, name);
    writeFileSync(path, bytes);
    return openMaster(path, bytes.length, { maxInputPixels: 1e9, workDir: work });
  };
  const raw = (image: DecodedImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });

  it('decodes the fixtures at full size with the colours of a known-good decode', async () => {
    // Means checked against PNGs of this decoder's output, viewed: upright, natural colours.
    for (const [name, size, means] of [
      ['heif/example.heic', [1280, 854], [122.74, 126.49, 121.17]],
      ['heif/hopper.heif', [128, 128], [89.67, 80.03, 95.45]],
    ] as const) {
      const image = await decodeHeic(file(name), 1e9);
      expect(image, name).toMatchObject({ width: size[0], height: size[1], channels: 3, bitsPerSample: 8 });
      expect(image.data.length).toBe(size[0] * size[1] * 3);
      const stats = await raw(image).stats();
      stats.channels.forEach((channel, i) => expect(channel.mean, `${name} channel ${i}`).toBeCloseTo(means[i]!, 0));
    }
    // Upright: the Tübingen photograph has blue sky at the top and the darker river at the bottom.
    const example = await decodeHeic(file('heif/example.heic'), 1e9);
    const sky = await regionMeans(example, { left: 400, top: 0, width: 400, height: 100 });
    const river = await regionMeans(example, { left: 200, top: 754, width: 400, height: 100 });
    expect(sky[2]!).toBeGreaterThan(sky[0]! + 40);
    expect(sky[2]!).toBeGreaterThan(river[2]! + 80);
  });

  it('matches an independent decode: the same picture coded as AVIF, and native libde265 where installed', async () => {
    const hopper = await raw(await decodeHeic(file('heif/hopper.heif'), 1e9)).raw().toBuffer();
    const avif = await sharp(file('heif/hopper.avif')).raw().toBuffer();
    expect(psnr(hopper, avif)).toBeGreaterThan(30); // two lossy encodings of one picture
    if (!haveVips) {
      console.warn('skipping the comparison with native libde265: the vips CLI is not installed');
      return;
    }
    for (const name of ['heif/example.heic', 'heif/hopper.heif']) {
      const reference = join(work, 'reference.png');
      execFileSync('vips', ['copy', resolve(SHARED, name), reference], { stdio: 'ignore', env: debianVipsEnv() });
      const ours = await raw(await decodeHeic(file(name), 1e9)).raw().toBuffer();
      // Chroma upsampling differs between libheif versions: measured 45 and 48 dB.
      expect(psnr(ours, await sharp(reference).removeAlpha().raw().toBuffer()), name).toBeGreaterThan(42);
    }
  });

  it('applies the container rotation once: irot by the decoder, the EXIF Orientation tag not again', async () => {
    const tile = await raw(await decodeHeic(file('heif/hopper.heif'), 1e9)).raw().toBuffer();
    // 3×2 tiles (384×256) turned a quarter anti-clockwise, with EXIF that claims Orientation 6 and names the creator.
    const exif = tiffWithTags([
      [274, 3, 6],
      [315, 2, 'Grace Hopper Studio'],
    ]);
    const master = await open('rotated.heic', buildHeic(file('heif/hopper.heif'), { across: 3, down: 2, quarterTurns: 1, exif }));
    expect([master.width, master.height]).toEqual([256, 384]);
    expect(master.description.orientation ?? 1).toBe(1);
    expect(master.embedded.creator).toBe('Grace Hopper Studio');
    // The pyramid auto-orients its input: the intermediate must come out as decoded, each tile turned once.
    const published = sharp(master.input).autoOrient();
    expect(await published.metadata()).toMatchObject({ width: 256, height: 384 });
    const corner = await published.extract({ left: 0, top: 0, width: 128, height: 128 }).raw().toBuffer();
    const turned = await sharp(tile, { raw: { width: 128, height: 128, channels: 3 } }).rotate(270).raw().toBuffer();
    expect(psnr(corner, turned)).toBeGreaterThan(40);
  });

  it('carries the ICC profile from the HEIF header, so the pipeline colour-manages the pixels', async () => {
    const icc = readJp2Boxes(file('color/47102787.jp2')).icc!;
    const master = await open('colorspin.heic', buildHeic(file('heif/hopper.heif'), { across: 1, down: 1, icc }));
    expect(master.description).toMatchObject({ format: 'heif', iccProfile: 'ColorSpin' });
    expect((await sharp(master.input).metadata()).icc?.equals(icc)).toBe(true);
  });

  it('keeps a real alpha channel for the pipeline to flatten', async () => {
    const image = await decodeHeic(buildHeic(file('heif/hopper.heif'), { across: 1, down: 1, alpha: true }), 1e9);
    expect(image).toMatchObject({ width: 128, height: 128, channels: 4 });
    const alpha = (await raw(image).stats()).channels[3]!;
    expect(alpha.min).toBeLessThan(100); // the alpha plane is the portrait's own luma
    const master = await open('alpha.heic', buildHeic(file('heif/hopper.heif'), { across: 1, down: 1, alpha: true }));
    expect(master.description.hasAlpha).toBe(true);
  });

  it('refuses truncated and damaged files with a reason, and keeps decoding afterwards', async () => {
    const good = file('heif/example.heic');
    // The primary image's coded data ends at byte 334661; the boxes are in the first kilobyte.
    await expect(decodeHeic(good.subarray(0, 300_000), 1e9)).rejects.toThrow(/^the HEIC image is truncated or damaged: .*end of file/);
    await expect(decodeHeic(good.subarray(0, 200), 1e9)).rejects.toThrow(/^the HEIC file could not be read: .*meta/);
    await expect(decodeHeic(Buffer.from('not a HEIF file at all, just text'), 1e9)).rejects.toBeInstanceOf(MasterRejectedError);
    await expect(open('truncated.heic', good.subarray(0, 300_000))).rejects.toBeInstanceOf(MasterRejectedError);
    await expect(decodeHeic(good, 1e9)).resolves.toMatchObject({ width: 1280, height: 854 });
  });

  it('refuses masters above the pixel limit or the WebAssembly heap budget before decoding', async () => {
    await expect(decodeHeic(file('heif/example.heic'), 100_000)).rejects.toThrow(/1280×854 = 1.09 megapixels, above the 0.10 megapixel limit for HEIC masters/);
    // A 3.5 KB file whose grid claims 20000×20000: refused from the header, before any decoding.
    const bomb = buildHeic(file('heif/hopper.heif'), { across: 1, down: 1, declaredSize: { width: 20_000, height: 20_000 } });
    const started = performance.now();
    await expect(decodeHeic(bomb, 1e10)).rejects.toThrow(/20000×20000 = 400 megapixels, above the 279 megapixel limit for HEIC masters/);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(decodeHeic(file('heif/hopper.heif'), 1e9)).resolves.toMatchObject({ width: 128 });
  });
});

async function regionMeans(image: DecodedImage, region: { left: number; top: number; width: number; height: number }): Promise<number[]> {
  // stats() describes the input, not the pipeline: extract to a buffer first.
  const pixels = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).extract(region).raw().toBuffer();
  const sums = Array<number>(image.channels).fill(0);
  for (let i = 0; i < pixels.length; i++) sums[i % image.channels]! += pixels[i]!;
  return sums.map((sum) => sum / (pixels.length / image.channels));
}

function psnr(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (squared / a.length));
}

/** A big-endian TIFF-structured EXIF block with one IFD of SHORT (3) and ASCII (2) tags. */
function tiffWithTags(tags: [tag: number, type: 2 | 3, value: number | string][]): Buffer {
  const ifdAt = 8;
  const valuesAt = ifdAt + 2 + tags.length * 12 + 4;
  const values: Buffer[] = [];
  let valueOffset = valuesAt;
  const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
  ifd.writeUInt16BE(tags.length, 0);
  tags.forEach(([tag, type, value], i) => {
    const at = 2 + i * 12;
    ifd.writeUInt16BE(tag, at);
    ifd.writeUInt16BE(type, at + 2);
    if (typeof value === 'number') {
      ifd.writeUInt32BE(1, at + 4);
      ifd.writeUInt16BE(value, at + 8);
    } else {
      const text = Buffer.from(`${value}\0`, 'latin1');
      ifd.writeUInt32BE(text.length, at + 4);
      ifd.writeUInt32BE(valueOffset, at + 8);
      values.push(text);
      valueOffset += text.length;
    }
  });
  return Buffer.concat([Buffer.from('MM\0\x2a\0\0\0\x08', 'latin1'), ifd, ...values]);
}

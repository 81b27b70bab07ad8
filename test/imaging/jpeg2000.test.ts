import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { iccProfileName } from '../../functions/core/icc.ts';
import { MasterRejectedError } from '../../functions/imaging/errors.ts';
import { decodeJpeg2000, readJp2Boxes } from '../../functions/imaging/foreign-decoders.ts';

const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const haveShared = existsSync(SHARED);
if (!haveShared) console.warn(`skipping JPEG 2000 decoder tests: ${SHARED} is absent`);

describe.skipIf(!haveShared)('JPEG 2000 decoding', () => {
  const file = (path: string) => readFileSync(resolve(SHARED, path));

  it('reads the ICC profile and XMP packet from the JP2 boxes', () => {
    const boxes = readJp2Boxes(file('metadata/jp2-xmp.jp2'));
    expect(iccProfileName(boxes.icc)).toBe('sRGB IEC61966-2.1');
    expect(boxes.xmp?.toString('utf8')).toContain('x:xmpmeta');
    expect(iccProfileName(readJp2Boxes(file('color/47102787.jp2')).icc)).toBe('ColorSpin');
  });

  it('decodes 8- and 16-bit images to interleaved samples', async () => {
    const rgb = await decodeJpeg2000(file('jp2/test-card-lossless.jp2'), 1e9);
    expect(rgb).toMatchObject({ width: 640, height: 480, channels: 3, bitsPerSample: 8 });
    expect(rgb.data.length).toBe(640 * 480 * 3);
    const grey = await decodeJpeg2000(file('jp2/16bit.cropped.jp2'), 1e9);
    expect(grey).toMatchObject({ width: 64, height: 64, channels: 1, bitsPerSample: 16 });
    expect(grey.data.length).toBe(64 * 64 * 2);
  });

  it('refuses a damaged codestream with a reason, and keeps decoding afterwards', async () => {
    const good = file('jp2/test-card-lossless.jp2');
    const damaged = Buffer.concat([good.subarray(0, 400), Buffer.alloc(2000, 0xaa)]);
    await expect(decodeJpeg2000(damaged, 1e9)).rejects.toBeInstanceOf(MasterRejectedError);
    await expect(decodeJpeg2000(good, 1e9)).resolves.toMatchObject({ width: 640, height: 480 });
  });

  it('refuses masters above the pixel limit before decoding', async () => {
    await expect(decodeJpeg2000(file('jp2/test-card-lossless.jp2'), 100_000)).rejects.toThrow(/megapixel limit for JPEG 2000/);
  });
});

/**
 * The benchmarks' 100-megapixel master: the Ruisdael painting from the fixtures scaled to 11547×8660 with
 * film-grain noise laid over it, so it compresses and decodes like a real photograph, not a flat gradient.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MASTER_SIZE = { width: 11_547, height: 8_660 } as const;

/** `size` defaults to {@link MASTER_SIZE}; the load benchmark makes smaller ones. */
export async function makePhotographicMaster(path: string, size: { width: number; height: number } = MASTER_SIZE): Promise<{ width: number; height: number }> {
  const painting = [resolve(PROJECT_ROOT, 'test/fixtures/images/bentheim.jpg'), resolve(PROJECT_ROOT, '../shared/fixtures/images/artwork/bentheim.jpg')].find(existsSync);
  if (!painting) throw new Error('bentheim.jpg not found in test/fixtures/images or ../shared/fixtures/images/artwork');
  const { width, height } = size;
  const grain = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 18 } } }).raw().toBuffer();
  await sharp(painting)
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .composite([{ input: grain, raw: { width, height, channels: 3 }, blend: 'overlay' }])
    .jpeg({ quality: 90 })
    .toFile(path);
  return { width, height };
}

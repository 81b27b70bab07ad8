/**
 * What the ingest suites (ingest, ingest-load, faults, redelivery) share: masters to ingest, waiting for the local
 * queue, and the stored file set of an image, compared across runs.
 */
import sharp from 'sharp';
import { expect } from 'vitest';
import { revisionPrefixes } from '../../functions/core/derivative-layout.ts';
import type { ImageItem } from '../../functions/core/image-item.ts';
import type { LocalSystem } from '../../functions/local/system.ts';

/** A JPEG master of gaussian noise: every tile distinct and realistic in size; the seed varies the tint. */
export function noiseMaster(seed: number, width: number, height: number): Promise<Buffer> {
  const background = { r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 31) % 256 };
  return sharp({ create: { width, height, channels: 3, background, noise: { type: 'gaussian', mean: 120, sigma: 40 } } }).jpeg({ quality: 85 }).toBuffer();
}

/** s3rver announces an upload after answering it: wait for the notification, then for the queue to drain. */
export async function settle(system: LocalSystem): Promise<void> {
  await new Promise((r) => setTimeout(r, 400));
  await system.queue.idle();
}

/**
 * Every stored key of an image in both stores (its revisions and its stable info.json), with the identifier as `ID`
 * and the published revision as `REV`: two images ingested from the same bytes give the same list.
 */
export async function storedFiles(system: LocalSystem, item: ImageItem): Promise<string[]> {
  const keys = new Set<string>();
  const revision = item.published!.revision;
  for (const store of [system.derivatives, system.protectedDerivatives]) {
    for (const prefix of [...revisionPrefixes(item.identifier), `iiif/3/${item.identifier}/`, `iiif/2/${item.identifier}/`]) {
      for await (const key of store.listKeys(prefix)) keys.add(`${store.bucket}:${key.replace(item.identifier, 'ID').replace(revision, 'REV')}`);
    }
  }
  return [...keys].sort();
}

/** Mean absolute difference of two raw pixel buffers of the same size. */
export function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

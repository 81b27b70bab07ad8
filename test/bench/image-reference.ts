/**
 * The reference side of the image benchmark: iiif-processor (serverless-iiif's engine) over a pyramidal TIFF in
 * S3, the source stream fetched per request exactly as serverless-iiif does, every page's dimensions given up
 * front (its best case: no probing).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Processor } from 'iiif-processor';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { createS3Client } from '../../functions/store/clients.ts';
import { readPlan, runPlan } from './image-worker.ts';

// iiif-processor brings its own sharp: the same threads and no operation cache, as ours.
const processorSharp = createRequire(createRequire(import.meta.url).resolve('iiif-processor'))('sharp') as {
  concurrency(n: number): number;
  cache(on: boolean): unknown;
};
processorSharp.concurrency(availableParallelism());
processorSharp.cache(false);

const plan = readPlan();
const s3 = createS3Client();
const streamResolver = async () => (await s3.send(new GetObjectCommand({ Bucket: plan.reference.bucket, Key: plan.reference.key }))).Body as Readable;
await runPlan(plan, async (path) => {
  const processor = new Processor(`https://bench.example${path.replace(plan.identifier, 'master')}`, streamResolver, {
    dimensionFunction: async () => plan.reference.pages,
    // iiif-processor 7 scales `max` by maxArea / area (not its square root), which would make its `max` 2.8 MP
    // where ours is 16.7 MP; hold it to the same pixels as ours instead.
    max: { width: plan.maxSize.width, height: plan.maxSize.height },
  });
  const result = await processor.execute();
  if (result.type !== 'content') throw new Error(`reference ${path}: ${JSON.stringify(result).slice(0, 200)}`);
  return Buffer.byteLength(result.body);
});
s3.destroy();

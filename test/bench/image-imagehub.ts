/** imagehub's side of the image benchmark: its Image API code over the stored pyramid and image item in S3. */
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { answerImageRequest } from '../../functions/image-api/answer-image-request.ts';
import { createDocumentClient, createS3Client } from '../../functions/store/clients.ts';
import { ImageItems } from '../../functions/store/image-items.ts';
import { ObjectStore } from '../../functions/store/object-store.ts';
import { readPlan, runPlan } from './image-worker.ts';

sharp.concurrency(availableParallelism());
sharp.cache(false);
const plan = readPlan();
const s3 = createS3Client();
const deps = {
  items: new ImageItems(createDocumentClient(), 'imagehub'),
  derivatives: new ObjectStore(s3, 'derivatives'),
  // Inline whatever the size, as the reference does (on Lambda, answers above 4 MB are stored and redirected).
  settings: { publicUrl: 'https://bench.example', jpegQuality: 85, upscaling: true, maxInlineBytes: Number.MAX_SAFE_INTEGER },
};
await runPlan(plan, async (path) => {
  const result = await answerImageRequest({ method: 'GET', path, headers: {} }, deps);
  if (result.status !== 200) throw new Error(`imagehub ${path}: ${result.status} ${String(result.body)}`);
  return Buffer.byteLength(result.body ?? '');
});
s3.destroy();

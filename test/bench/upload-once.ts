/** Upload a rendered pyramid directory to the local S3 stand-in the way the ingest publishes it. */
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createS3Client } from '../../functions/store/clients.ts';
import { ObjectStore } from '../../functions/store/object-store.ts';
import { DEFAULTS } from '../../functions/core/settings.ts';
import { ensureBuckets, startStandIns } from '../../functions/local/stand-ins.ts';

const dir = join(process.argv[2]!, 'pyramid');
const standIns = await startStandIns();
const s3 = createS3Client({ AWS_ENDPOINT_URL_S3: standIns.s3Endpoint }, { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await ensureBuckets(s3, ['bench']);
const store = new ObjectStore(s3, 'bench');
const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
const start = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: DEFAULTS.uploadConcurrency }, async () => {
    while (next < files.length) {
      const file = files[next++]!;
      await store.putFile(`iiif/3/bench/${relative(dir, file).split(sep).join('/')}`, file, { contentType: 'image/jpeg' });
    }
  }),
);
const seconds = (performance.now() - start) / 1000;
s3.destroy();
await standIns.close();
console.log(JSON.stringify({ files: files.length, seconds }));

/**
 * `npm start`: imagehub on one machine. Data under IMAGEHUB_DATA (default ./.imagehub): bucket files, the table,
 * and the inbox folder watched for new masters.
 */
import { resolve, join } from 'node:path';
import { loadDemo, shouldLoadDemo } from './demo.ts';
import { watchInbox } from './inbox.ts';
import { startLocalSystem } from './system.ts';

const dataDir = resolve(process.env.IMAGEHUB_DATA ?? '.imagehub');
// Decided before the start, which writes files into the folder: a demo on a new (absent or empty) data folder,
// unless IMAGEHUB_DEMO=0; IMAGEHUB_DEMO=1 loads it anyway (functions/local/demo.ts).
const demo = shouldLoadDemo(dataDir);
const system = await startLocalSystem({ dataDir });
const inboxDir = join(dataDir, 'inbox');
const watcher = watchInbox({
  dir: inboxDir,
  ingest: system.ingest,
  log: (line) => console.log(line),
  ...(system.notifiesOnUpload ? {} : { notify: (message: string) => system.queue.send(message) }),
});

console.log(`imagehub is running at ${system.url}
  web app              ${system.url}/  (collections, search, object pages, upload, activity)
  drop images into     ${inboxDir}/ (sub-folders allowed: mskgent.be/1829-A.tif → mskgent.be:1829-A)
  Image API 3.0        ${system.url}/iiif/3/{identifier}/info.json
  Image API 2.1        ${system.url}/iiif/2/{identifier}/info.json
  manifests            ${system.url}/iiif/presentation/3/{institution}:{object number}/manifest.json
  collections          ${system.url}/iiif/presentation/3/collection/top.json
  load LIDO records    npx imagehub harvest --file records.xml   (or --oai URL; see --help)
  view a manifest      ${system.url}/viewer/mirador.html?manifest={manifest URL}  (or /viewer/uv.html)
  ingest bucket        s3://${system.ingestBucket} · derivatives s3://${system.settings.derivativeBucket} · table ${system.settings.tableName}
  demo                 ${demo ? 'loading (IMAGEHUB_DEMO=0 skips it on a new data folder)' : 'not loaded (IMAGEHUB_DEMO=1 loads it)'}`);

const stop = async () => {
  await watcher.close();
  await system.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

if (demo) {
  try {
    await loadDemo(system, { dataDir, log: (line) => console.log(line) });
  } catch (error) {
    console.error(`demo: could not load: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The first-run demo of `npm start`: real LIDO records loaded with the real file loader, and a handful of sample
 * images uploaded to the ingest bucket (as the inbox does) so that the real ingest pipeline tiles them and the
 * manifests appear. The images are NOT photographs of the records' artworks: each is a freely licensed stand-in,
 * and `DEMO.md` in the data folder says which image stands in for which record, with its source and licence.
 *
 * When it runs (decided by main.ts through `shouldLoadDemo`):
 * - `IMAGEHUB_DEMO=0` never; `IMAGEHUB_DEMO=1` always (idempotent: records are conditional upserts that change
 *   nothing the second time, and an image is uploaded only when its key is not in the ingest bucket yet);
 * - otherwise only on a new data folder: one that did not exist or was empty before the stand-ins wrote their files
 *   into it (so no table data and no images yet), and that has no marker file `.demo-loaded`. A folder that already
 *   holds data but no marker (made before the demo existed) is left alone: the demo never mixes into real data
 *   unless asked to. The marker is written after a load, so a second start does not load again.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLidoFiles } from '../harvest/files.ts';
import type { LocalSystem } from './system.ts';
import { encodeKeyLikeS3 } from './local-queue.ts';

export const DEMO_MARKER = '.demo-loaded';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Decided before the system starts, since the stand-ins create files in the data folder. */
export function shouldLoadDemo(dataDir: string, env: Record<string, string | undefined> = process.env): boolean {
  if (env.IMAGEHUB_DEMO === '0') return false;
  if (env.IMAGEHUB_DEMO === '1') return true;
  if (!existsSync(dataDir)) return true;
  const entries = readdirSync(dataDir);
  return entries.length === 0;
}

interface DemoImage {
  key: string;
  /** Relative to the repository root (`repo`) or to ../shared/fixtures/images (`shared`). */
  file: string;
  from: 'repo' | 'shared';
  metadata?: Record<string, string>;
  standsInFor: string;
  manifest: string;
  image: string;
  source: string;
  licence: string;
}

const IMAGES: DemoImage[] = [
  {
    key: 'mskgent.be/1829-A.jpg',
    file: 'test/fixtures/images/bentheim.jpg',
    from: 'repo',
    standsInFor: 'MSK Gent 1829-A (François-Joseph Navez)',
    manifest: 'mskgent.be:1829-A',
    image: 'Jacob van Ruisdael, *Gezicht op kasteel Bentheim* (c. 1653), 3000×2279',
    source: 'Wikimedia Commons, via dainst/iiif_image_plug test/images/bentheim.jpg',
    licence: 'public domain painting; repository Apache-2.0',
  },
  {
    key: 'groeningemuseum.be/0000.GRO0208.I.jpg',
    file: 'artwork/starry_night_google.jpg',
    from: 'shared',
    metadata: { 'sort-number': '1' },
    standsInFor: 'Groeningemuseum 0000.GRO0208.I (Hieronymus Bosch), first view',
    manifest: 'groeningemuseum.be:0000_GRO0208_I',
    image: 'Vincent van Gogh, *The Starry Night* (1889, MoMA), Google Art Project reproduction, 1280×1014',
    source: 'jcjohnson/neural-style examples/inputs/starry_night_google.jpg',
    licence: 'public domain painting (PD-Art); repository MIT',
  },
  {
    key: 'groeningemuseum.be/0000.GRO0208.I-detail.jpg',
    file: 'jpeg/bentheim_pulver_turm.jpg',
    from: 'shared',
    metadata: { 'object-number': '0000.GRO0208.I', 'sort-number': '2' },
    standsInFor: 'Groeningemuseum 0000.GRO0208.I (Hieronymus Bosch), second view (linked by S3 metadata object-number and sort-number)',
    manifest: 'groeningemuseum.be:0000_GRO0208_I',
    image: 'a detail (201×351) of Ruisdael’s *Gezicht op kasteel Bentheim*',
    source: 'dainst/iiif_image_plug test/images/bentheim_pulver_turm.jpg',
    licence: 'public domain painting; repository Apache-2.0',
  },
  {
    key: 'kmska.be/257.tif',
    file: 'tiff/caillebotte.tif',
    from: 'shared',
    standsInFor: 'KMSKA 257 (Simone Martini, part of the polyptych 257-260)',
    manifest: 'kmska.be:257',
    image: 'Gustave Caillebotte, *Paris Street; Rainy Day* (1877, Art Institute of Chicago), tiled pyramidal TIFF, 4993×3877',
    source: 'Art Institute of Chicago open access (artic.edu/artworks/20684), via samvera/node-iiif examples/tiny-iiif/tiff/caillebotte.tif',
    licence: 'CC0 (Art Institute of Chicago); repository Apache-2.0',
  },
];

/** Record folders of ../shared/fixtures/datahub that hold well-formed VKC, MSK, KMSKA and Groeninge records. */
const SHARED_RECORDS = ['vkc-datahub-fixes', 'packed-adlib-to-lido'];

export interface DemoOptions {
  /** ../shared/fixtures beside the checkout; its parts are used when present. */
  sharedDir?: string;
  dataDir: string;
  log?: (line: string) => void;
}

export interface DemoReport {
  records: number;
  uploaded: string[];
  present: string[];
}

export async function loadDemo(system: LocalSystem, options: DemoOptions): Promise<DemoReport> {
  const log = options.log ?? (() => undefined);
  const sharedDir = options.sharedDir ?? resolve(ROOT, '../shared/fixtures');

  // 1. Records, with the real loader. Each folder on its own, so that one that fails does not stop the others.
  const folders = [join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes')];
  for (const name of SHARED_RECORDS) {
    const folder = join(sharedDir, 'datahub', name);
    if (existsSync(folder)) folders.push(folder);
  }
  let records = 0;
  for (const folder of folders) {
    try {
      const report = await loadLidoFiles({ paths: [folder], records: system.stores.records, source: 'file:demo' });
      records += report.added + report.updated + report.unchanged;
      log(`demo: ${folder}: ${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${report.skipped} skipped`);
    } catch (error) {
      log(`demo: could not load ${folder}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  // 2. Images, through the ingest bucket and the real pipeline; only those not there yet.
  const used: DemoImage[] = [];
  const uploaded: string[] = [];
  const present: string[] = [];
  for (const image of IMAGES) {
    const path = image.from === 'repo' ? join(ROOT, image.file) : join(sharedDir, 'images', image.file);
    if (!existsSync(path)) continue;
    used.push(image);
    if (await system.ingest.head(image.key)) {
      present.push(image.key);
      continue;
    }
    await system.ingest.putFile(image.key, path, { contentType: 'application/octet-stream', ...(image.metadata ? { metadata: image.metadata } : {}) });
    uploaded.push(image.key);
    if (!system.notifiesOnUpload) {
      const key = encodeKeyLikeS3(image.key);
      system.queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: system.ingestBucket }, object: { key } } }] }));
    }
  }

  // 3. DEMO.md, and a short version in the log.
  const url = system.url;
  const lines = [
    '# The imagehub demo',
    '',
    `Loaded by \`npm start\` into this new data folder (${records} LIDO records, source \`file:demo\`, from ${folders.length} folder(s):`,
    ...folders.map((folder) => `\`${folder}\``),
    ').',
    'Start with `IMAGEHUB_DEMO=0` to skip the demo on a new folder, or `IMAGEHUB_DEMO=1` to load it again (nothing is duplicated).',
    '',
    '## The images are stand-ins',
    '',
    'None of these images shows the artwork of the record it is linked to: they are freely licensed pictures of other',
    'paintings, ingested through the real pipeline so that the records have something to show.',
    '',
    '| ingest key | stands in for (NOT the real artwork) | image actually shown | source | licence |',
    '|---|---|---|---|---|',
    ...used.map((i) => `| \`${i.key}\` | ${i.standsInFor} | ${i.image} | ${i.source} | ${i.licence} |`),
    '',
    '## Try',
    '',
    `(At the address of the run that loaded the demo; \`PORT\` changes it.)`,
    '',
    `- the web app: ${url}/`,
    ...[...new Set(used.map((i) => i.manifest))].flatMap((m) => [
      `- object page: ${url}/object/${m}`,
      `- manifest: ${url}/iiif/presentation/3/${m}/manifest.json`,
    ]),
    '',
  ];
  writeFileSync(join(options.dataDir, 'DEMO.md'), lines.join('\n'));
  writeFileSync(join(options.dataDir, DEMO_MARKER), `${new Date().toISOString()}\n`);

  log(`demo: ${records} records; ${uploaded.length} image(s) uploaded, ${present.length} already there. The images are stand-ins, NOT the records' artworks:`);
  for (const i of used) log(`  ${i.key} → stands in for ${i.standsInFor}: ${i.image} (${i.licence})`);
  const first = used[0];
  log(`  try ${url}/${first ? `  ·  ${url}/iiif/presentation/3/${first.manifest}/manifest.json` : ''}  ·  details in ${join(options.dataDir, 'DEMO.md')}`);
  return { records, uploaded, present };
}

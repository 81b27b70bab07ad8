/**
 * `npm run bench:presentation`: manifest and collection requests through the real Presentation API handler, with
 * 1,000 and then 10,000 records (two ready images each) in the DynamoDB stand-in: the real VKC LIDO records with
 * varied object numbers (test/support/datahub-records.ts), stored through the real record and image stores so the
 * object summaries are what harvest and ingest leave behind. Population and measurement run as esbuild bundles in
 * processes of their own; dynalite lives in this one. The ratio of the manifest p50 at 10,000 to that at 1,000 shows
 * whether a manifest's cost grows with the collection (goal: it does not; manifest p50 ≤ 20 ms). Last line: JSON.
 *
 * BENCH_RECORDS (default 10000, more than 1000) scales the second phase down for quick runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleaned, makeRecord } from '../support/datahub-records.ts';
import { bundleBench, runBench, startBenchTable } from './node-bundle.ts';
import type { PopulateEntry } from './presentation-populate.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const FIRST_PHASE = 1000;
if (!Number.isInteger(RECORDS) || RECORDS <= FIRST_PHASE) throw new Error(`BENCH_RECORDS must be an integer above ${FIRST_PHASE}, got ${process.env.BENCH_RECORDS}`);
const SEED = 20260101;

const standIns = await startBenchTable('imagehub');
const work = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-presentation-bench-'));

const populateBundle = await bundleBench('presentation-populate');
const measureBundle = await bundleBench('presentation-once');

interface Populated {
  records: number;
  images: number;
  seconds: number;
  verified: number;
}
interface Figures {
  n: number;
  p50: number;
  p95: number;
  max: number;
  dynamoCallsPerRequest: number;
  bytesPerAnswer: number;
}
interface Measured {
  objects: number;
  manifest: Figures;
  page: Figures;
  institution: Figures;
  pagesListed: number;
  cpuSeconds: number;
  peakRssMb: number;
}

// Records are made here (the fixtures are read relative to the source tree, which a bundle is not in) and handed to
// the population process in a file; the measuring process gets every populated object id.
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const objectIds: string[] = [];
async function populate(from: number, to: number): Promise<Populated> {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const made = makeRecord(i % 4, Math.floor(i / 4) + 1, stamp(Date.parse('2026-01-01T00:00:00Z') + i * 1000));
    const entry: PopulateEntry = { index: i, ...made.record, institution: made.institution, objectNumber: made.objectNumber };
    lines.push(JSON.stringify(entry));
    objectIds.push(`${made.institution}:${cleaned(made.objectNumber)}`);
  }
  const file = join(work, `records-${from}-${to}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const populated = await runBench<Populated>(populateBundle, [file, 'imagehub']);
  rmSync(file);
  return populated;
}
async function measure(): Promise<Measured> {
  const file = join(work, `object-ids-${objectIds.length}.json`);
  writeFileSync(file, JSON.stringify(objectIds));
  return runBench<Measured>(measureBundle, ['imagehub', file, String(SEED)]);
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
function report(label: string, populated: Populated[], measured: Measured): void {
  const seconds = populated.reduce((sum, p) => sum + p.seconds, 0);
  const phase = populated.at(-1)!;
  console.log(
    `${label}: ${measured.objects} records, ${measured.objects * 2} images ` +
      `(this phase's ${phase.records} records populated in ${phase.seconds.toFixed(1)} s, ${(phase.records / phase.seconds).toFixed(0)} records/s; ${seconds.toFixed(1)} s in all)`,
  );
  const line = (name: string, f: Figures) =>
    console.log(
      `  ${name.padEnd(24)} p50 ${ms(f.p50).padStart(9)}  p95 ${ms(f.p95).padStart(9)}  max ${ms(f.max).padStart(9)}  ` +
        `n ${String(f.n).padStart(3)}  DynamoDB requests ${f.dynamoCallsPerRequest.toFixed(1).padStart(5)}  ${(f.bytesPerAnswer / 1024).toFixed(1)} KiB`,
    );
  line('manifest', measured.manifest);
  line('collection page', measured.page);
  line('institution collection', measured.institution);
  console.log(`  ${measured.pagesListed} collection pages listed; measuring process: peak RSS ${measured.peakRssMb.toFixed(0)} MB, CPU ${measured.cpuSeconds.toFixed(1)} s`);
}

try {
  console.log(`phase A: populating ${FIRST_PHASE} records and ${FIRST_PHASE * 2} images …`);
  const populatedA = await populate(0, FIRST_PHASE);
  const small = await measure();
  report('phase A', [populatedA], small);

  console.log(`phase B: populating ${RECORDS - FIRST_PHASE} more records and ${(RECORDS - FIRST_PHASE) * 2} images …`);
  const populatedB = await populate(FIRST_PHASE, RECORDS);
  const large = await measure();
  report('phase B', [populatedA, populatedB], large);

  const growth = large.manifest.p50 / small.manifest.p50;
  console.log(
    `manifest p50 at ${RECORDS} / at ${FIRST_PHASE}: ${growth.toFixed(2)} (goal ≈ 1: a manifest's cost must not grow with the collection); ` +
      `manifest p50 ${ms(large.manifest.p50)} (goal ≤ 20 ms)`,
  );
  const round = (value: number) => Math.round(value * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'presentation',
      records: RECORDS,
      images: RECORDS * 2,
      manifest_p50_ms: round(large.manifest.p50),
      manifest_p95_ms: round(large.manifest.p95),
      collection_p50_ms: round(large.page.p50),
      collection_p95_ms: round(large.page.p95),
      institution_collection_p50_ms: round(large.institution.p50),
      institution_collection_p95_ms: round(large.institution.p95),
      manifest_p50_ms_at_1k: round(small.manifest.p50),
      manifest_growth_ratio: Math.round(growth * 100) / 100,
      manifest_dynamodb_requests: round(large.manifest.dynamoCallsPerRequest),
      populate_s: round(populatedA.seconds + populatedB.seconds),
      peak_rss_mb: Math.round(large.peakRssMb),
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
  await standIns.close();
}

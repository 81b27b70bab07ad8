/**
 * `npm run bench:harvest`: a full harvest of 20,000 LIDO records (the real VKC records with varied object numbers,
 * served by the test OAI-PMH repository at 25 records a page, as the data hub pages) into the DynamoDB stand-in, then
 * an incremental re-harvest after 1 % of them changed. The harvester runs as an esbuild bundle in its own process;
 * the repository and dynalite live in this one. Last line: JSON.
 */
import { startOaiServer } from '../support/oai-server.ts';
import { collection } from '../support/datahub-records.ts';
import { bundleBench, runBench, startBenchTable } from './node-bundle.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000);
const CHANGED = Math.round(RECORDS / 100);

const made = collection(RECORDS);
const standIns = await startBenchTable('imagehub');
// Datestamps a month ago, a second apart: all in the past, so the edits made below are the only recent ones.
const monthAgo = Date.now() - 30 * 86_400_000;
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const server = await startOaiServer(
  made.map((m, i) => ({ ...m.record, datestamp: stamp(monthAgo + i * 1000) })),
  { pageSize: 25 },
);

const bundle = await bundleBench('harvest-once');

interface Run {
  report: { mode: string; pages: number; added: number; updated: number; unchanged: number; deleted: number; skipped: number; complete: boolean };
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}
const harvest = () => runBench<Run>(bundle, [server.url, 'imagehub']);

console.log(`full harvest of ${RECORDS} records, ${Math.ceil(RECORDS / 25)} pages of 25 …`);
const full = await harvest();
if (!full.report.complete || full.report.added !== RECORDS) throw new Error(`full harvest incomplete: ${JSON.stringify(full.report)}`);

// 1 % edited now: the incremental run asks from the full run's start minus the overlap and must write only those.
const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
for (let i = 0; i < CHANGED; i++) {
  const index = Math.floor((i * RECORDS) / CHANGED);
  const record = server.records[index]!;
  server.records[index] = { ...record, datestamp: now, xml: record.xml.replace('</lido:lido>', '<!-- edited --></lido:lido>') };
}
console.log(`incremental re-harvest after ${CHANGED} records changed …`);
const incremental = await harvest();
await server.close();
await standIns.close();

const recordsPerSecond = RECORDS / full.seconds;
const parentCpu = process.cpuUsage();
console.log(`full:        ${full.seconds.toFixed(1)} s, ${recordsPerSecond.toFixed(0)} records/s, ${full.report.pages} pages, peak RSS ${full.peakRssMb.toFixed(0)} MB (goal ≥ 500 records/s)`);
console.log(`  CPU: harvester ${full.cpuSeconds.toFixed(1)} s; this process (repository + DynamoDB stand-in) ${((parentCpu.user + parentCpu.system) / 1e6).toFixed(1)} s in all`);
console.log(
  `incremental: ${incremental.seconds.toFixed(2)} s, ${incremental.report.pages} pages, wrote ${incremental.report.added + incremental.report.updated} ` +
    `(updated ${incremental.report.updated}, unchanged ${incremental.report.unchanged}) of ${CHANGED} changed`,
);
console.log(
  JSON.stringify({
    bench: 'harvest',
    records: RECORDS,
    records_per_s: Math.round(recordsPerSecond),
    seconds: Number(full.seconds.toFixed(2)),
    peak_rss_mb: Math.round(full.peakRssMb),
    incremental_s: Number(incremental.seconds.toFixed(2)),
    incremental_changed: CHANGED,
    incremental_written: incremental.report.added + incremental.report.updated,
    incremental_pages: incremental.report.pages,
  }),
);

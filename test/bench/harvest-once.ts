/**
 * One harvest run of the benchmark, in its own process so its peak RSS is its own: the real harvester against the
 * OAI-PMH repository and DynamoDB stand-in named by the environment. Prints the report and peak RSS as JSON.
 *
 *   harvest-once OAI_URL TABLE
 */
import { createDocumentClient } from '../../functions/store/clients.ts';
import { HarvestStateStore, RecordStore } from '../../functions/store/records.ts';
import { runHarvest } from '../../functions/harvest/harvest.ts';
import { peakRssMb } from './peak-rss.ts';

const [baseUrl, table] = process.argv.slice(2) as [string, string];
const db = createDocumentClient();
const start = performance.now();
const report = await runHarvest({
  fetch: (url, init) => fetch(url, init),
  records: new RecordStore(db, table),
  state: new HarvestStateStore(db, table),
  source: 'bench-hub',
  baseUrl,
  mode: 'auto',
});
const seconds = (performance.now() - start) / 1000;
db.destroy();
const usage = process.resourceUsage();
console.log(JSON.stringify({ report, seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, peakRssMb: peakRssMb() }));

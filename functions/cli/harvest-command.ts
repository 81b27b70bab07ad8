/**
 * `imagehub harvest`: fill the record mirror of a local or deployed imagehub from LIDO files or an OAI-PMH
 * repository, with the same code the harvest Lambda runs (functions/harvest/).
 *
 * An OAI-PMH harvest from the CLI uses the same harvest source id, and so the same checkpoint and incremental
 * cursor, as the scheduled Lambda harvesting the same URL and set: the two never run the same list concurrently
 * (the state item's owner condition stops the later one) and each continues what the other left.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseRightsAuthority, type RightsAuthority } from '../core/rights.ts';
import type { HarvestCounts, SkippedEntry } from '../core/mirror.ts';
import { loadLidoFiles, FileLoadError } from '../harvest/files.ts';
import { defaultSourceId, reconcile, runHarvest, type HarvestMode } from '../harvest/harvest.ts';
import { createStores } from '../store/stores.ts';
import { bar, ProgressLine, rate, type Output } from './progress.ts';
import { COMMON_OPTIONS, resolveTarget, TARGET_OPTIONS, targetHelp, UsageError, type Target } from './target.ts';

export const HARVEST_HELP = `Usage:
  imagehub harvest --file PATH [--file PATH …] [options]
  imagehub harvest --oai URL [--set SET] [--from DATE | --full] [options]
  imagehub harvest --oai URL --reconcile [--force] [options]

Load LIDO records into imagehub's record mirror, from files or an OAI-PMH repository.

Sources:
  --file PATH          a LIDO file (lido, lidoWrap or a saved OAI-PMH response) or a folder of *.xml files;
                       repeatable. A record's version is the file's modification time.
  --oai URL            an OAI-PMH endpoint, e.g. https://datahub.vlaamsekunstcollectie.be/oai
  --set SET            harvest one set (e.g. institution:museum_voor_schone_kunsten_gent)
  --prefix PREFIX      metadataPrefix (default oai_lido)
  --from DATE          list records changed since DATE (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)
  --full               list everything, not only changes since the last harvest
  --reconcile          compare the repository's identifiers with the mirror: mark records it no longer lists
                       as deleted and fetch the ones missing (refuses to delete more than 20 % without --force)
  --source ID          harvest source id to tag records with (default: from the URL and set, or file:NAME)

Rights authority files (optional; fallback when a record states no rights):
  --rights-csv PATH|URL        VKC RIGHTS.csv
  --copyrights-csv PATH|URL    VKC Copyrights.csv (creators' public-domain years)

${targetHelp()}

  --json               print the final report as JSON
  -h, --help           this help

Exit status: 0 when the harvest completed (skipped records are listed, not failures), 1 when it stopped before
the end (run it again to resume from the checkpoint), 2 for a usage error.`;

export interface CommandIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
}

export async function harvestCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      file: { type: 'string', multiple: true },
      oai: { type: 'string' },
      set: { type: 'string' },
      prefix: { type: 'string' },
      from: { type: 'string' },
      full: { type: 'boolean' },
      reconcile: { type: 'boolean' },
      force: { type: 'boolean' },
      source: { type: 'string' },
      'rights-csv': { type: 'string' },
      'copyrights-csv': { type: 'string' },
      ...TARGET_OPTIONS,
      ...COMMON_OPTIONS,
    },
  });
  if (values.help) {
    io.stdout.write(`${HARVEST_HELP}\n`);
    return 0;
  }
  const files = values.file ?? [];
  if ((files.length > 0) === (values.oai !== undefined)) throw new UsageError('give either --file PATH or --oai URL (see imagehub harvest --help)');
  if (values.oai !== undefined && !/^https?:\/\/[^/?#\s]+/.test(values.oai)) throw new UsageError(`--oai must be an http(s) URL, got "${values.oai}"`);
  if (values.from !== undefined && !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$/.test(values.from)) {
    throw new UsageError(`--from must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, got "${values.from}"`);
  }
  if (values.from !== undefined && values.full) throw new UsageError('--from and --full contradict each other');
  if (files.length > 0 && (values.set ?? values.from ?? values.full ?? values.reconcile ?? values.prefix) !== undefined) {
    throw new UsageError('--set, --prefix, --from, --full and --reconcile apply to --oai harvests only');
  }
  if ((values['rights-csv'] === undefined) !== (values['copyrights-csv'] === undefined)) {
    throw new UsageError('--rights-csv and --copyrights-csv go together');
  }

  const authority = values['rights-csv'] && values['copyrights-csv'] ? await readAuthority(values['rights-csv'], values['copyrights-csv']) : undefined;
  const target = resolveTarget(values, io.env);
  try {
    io.stderr.write(`harvesting into ${target.description}\n`);
    let status: number;
    if (files.length > 0) status = await fromFiles(files, target, io, { authority, source: values.source, json: values.json });
    else {
      const baseUrl = values.oai!;
      const source = values.source ?? defaultSourceId(baseUrl, values.set);
      const common = { baseUrl, source, ...(values.set ? { set: values.set } : {}), ...(values.prefix ? { metadataPrefix: values.prefix } : {}), ...(authority ? { authority } : {}) };
      const mode: HarvestMode = values.full ? 'full' : 'auto';
      status = values.reconcile
        ? await reconcileCommand(target, io, { ...common, force: values.force === true, json: values.json })
        : await fromOai(target, io, { ...common, mode, ...(values.from ? { from: values.from } : {}), json: values.json });
    }
    await reviewAccess(target, io);
    return status;
  } finally {
    target.close();
  }
}

/**
 * Records written from here reach no record-change hook of the running imagehub: ask it to review access now
 * (locally), or say when it will (AWS: the daily review at 00:05 UTC; the harvest Lambda reviews at once).
 */
async function reviewAccess(target: Target, io: CommandIo): Promise<void> {
  if (target.kind !== 'local' || !target.publicUrl) {
    io.stderr.write('access decisions of the images of changed records follow at the next daily access review (00:05 UTC)\n');
    return;
  }
  try {
    const response = await fetch(`${target.publicUrl}/api/access/review`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const report = (await response.json()) as { reviewed: number; republished: unknown[] };
    io.stderr.write(`access review: ${report.reviewed} image${report.reviewed === 1 ? '' : 's'} reviewed, ${report.republished.length} republished\n`);
  } catch (error) {
    io.stderr.write(`access review not run (${error instanceof Error ? error.message : String(error)}): it runs when imagehub starts and every 24 hours\n`);
  }
}

async function fromFiles(
  paths: string[],
  target: Target,
  io: CommandIo,
  options: { authority: RightsAuthority | undefined; source: string | undefined; json: boolean | undefined },
): Promise<number> {
  const progress = new ProgressLine(io.stderr);
  const started = Date.now();
  let report;
  try {
    report = await loadLidoFiles({
      paths,
      records: createStores(target.db, target.tableName).records,
      ...(options.source ? { source: options.source } : {}),
      ...(options.authority ? { authority: options.authority } : {}),
      onFile: (p) => progress.update(`${bar(p.files / p.totalFiles)}  ${p.files}/${p.totalFiles} files · ${processed(p.counts)} records · ${rate(processed(p.counts), Date.now() - started)}`),
    });
  } catch (error) {
    if (error instanceof FileLoadError) throw new UsageError(error.message);
    throw error;
  } finally {
    progress.done();
  }
  if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    io.stdout.write(`loaded ${report.files} file${report.files === 1 ? '' : 's'}: ${processed(report)} records in ${seconds(report.durationMs)}\n`);
    writeCounts(io.stdout, report, report.skippedRecords);
  }
  return 0;
}

async function fromOai(
  target: Target,
  io: CommandIo,
  options: { baseUrl: string; source: string; set?: string; metadataPrefix?: string; authority?: RightsAuthority; mode: HarvestMode; from?: string; json: boolean | undefined },
): Promise<number> {
  const progress = new ProgressLine(io.stderr);
  const started = Date.now();
  const { json, ...harvestOptions } = options;
  const report = await runHarvest({
    ...harvestOptions,
    fetch,
    ...storesOf(target),
    log: (message, details) => {
      if (message === 'OAI-PMH request failed') {
        progress.done();
        io.stderr.write(`retrying: ${String(details?.fault)} (attempt ${String(details?.attempt)})\n`);
      } else if (message.startsWith('resum') || message === 'harvest started') {
        io.stderr.write(`${message}${details?.from ? ` (from ${String(details.from)})` : ''}\n`);
      }
    },
    onPage: (p) => {
      const done = p.completeListSize ? `${bar(p.processed / p.completeListSize)}  ${p.processed}/${p.completeListSize}` : `${p.processed}`;
      progress.update(`${done} records · page ${p.pages} · ${rate(p.processed, Date.now() - started)} · ${p.counts.added} added, ${p.counts.updated} updated, ${p.counts.skipped} skipped`);
    },
  });
  progress.done();
  if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const what = report.complete ? `${report.mode} harvest complete` : `harvest stopped: ${report.stoppedBecause ?? 'unknown reason'}`;
    io.stdout.write(`${what}: ${report.pages} pages, ${processed(report)} records in ${seconds(report.durationMs)}${report.from ? `, from ${report.from}` : ''}\n`);
    writeCounts(io.stdout, report, report.skippedRecords);
    if (!report.complete) io.stdout.write('run the same command again to continue from the checkpoint\n');
  }
  return report.complete ? 0 : 1;
}

async function reconcileCommand(
  target: Target,
  io: CommandIo,
  options: { baseUrl: string; source: string; set?: string; metadataPrefix?: string; authority?: RightsAuthority; force: boolean; json: boolean | undefined },
): Promise<number> {
  const { json, ...rest } = options;
  io.stderr.write('listing the repository\'s identifiers…\n');
  const report = await reconcile({
    ...rest,
    fetch,
    ...storesOf(target),
  });
  if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    io.stdout.write(`${report.complete ? 'reconciliation complete' : `reconciliation stopped: ${report.stoppedBecause}`}: ${report.listed} listed, ${report.mirrored} mirrored, ${report.deleted} marked deleted, ${report.missing} missing and ${report.outdated} outdated fetched\n`);
    for (const id of report.deletedIds.slice(0, 20)) io.stdout.write(`  deleted ${id}\n`);
  }
  return report.complete ? 0 : 1;
}

function storesOf(target: Target) {
  const stores = createStores(target.db, target.tableName);
  return { records: stores.records, state: stores.harvestState };
}

function processed(counts: HarvestCounts): number {
  return counts.added + counts.updated + counts.unchanged + counts.stale + counts.deleted + counts.skipped + counts.outsideSet;
}

function writeCounts(out: Output, counts: HarvestCounts, skipped: SkippedEntry[]): void {
  out.write(`  ${counts.added} added · ${counts.updated} updated · ${counts.unchanged} unchanged · ${counts.stale} older than the mirror's · ${counts.deleted} deleted · ${counts.skipped} skipped${counts.outsideSet ? ` · ${counts.outsideSet} of other sets` : ''}\n`);
  for (const entry of skipped.slice(0, 20)) out.write(`  skipped ${entry.identifier ?? '(no identifier)'}: ${entry.reason}\n`);
  if (counts.skipped > 20) out.write(`  … and ${counts.skipped - 20} more skipped (--json lists up to 200)\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function readAuthority(rightsCsv: string, copyrightsCsv: string): Promise<RightsAuthority> {
  const text = async (location: string) => {
    if (/^https?:\/\//.test(location)) {
      const response = await fetch(location, { signal: AbortSignal.timeout(60_000) });
      if (!response.ok) throw new UsageError(`${location}: HTTP ${response.status}`);
      return response.text();
    }
    return readFile(location, 'utf8').catch(() => {
      throw new UsageError(`${location} cannot be read`);
    });
  };
  return parseRightsAuthority(await text(rightsCsv), await text(copyrightsCsv));
}

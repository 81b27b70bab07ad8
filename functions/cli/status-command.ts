/**
 * `imagehub status [ID]`: one image's state (and its object's manifest), or the latest ingests and failures from
 * the table's `activity` index; with `--harvest SOURCE`, a harvest source's last run.
 */
import { parseArgs } from 'node:util';
import type { ImageItem, IngestRefusal } from '../core/image-item.ts';
import { manifestUrl, objectIdFor } from '../core/presentation.ts';
import { defaultSourceId } from '../harvest/harvest.ts';
import { createStores, type Stores } from '../store/stores.ts';
import type { CommandIo } from './harvest-command.ts';
import { infoJsonUrl } from './ingest-command.ts';
import type { Output } from './progress.ts';
import { COMMON_OPTIONS, resolveTarget, TARGET_OPTIONS, targetHelp, UsageError, type Target } from './target.ts';
import { describeHarvestState } from '../core/mirror.ts';

export const STATUS_HELP = `Usage:
  imagehub status [--limit N] [--json] [options]       the latest ingests and failures, newest first
  imagehub status ID [--json] [options]                one image: status, reason, dimensions, revision, info.json,
                                                       and the manifest of the object it belongs to
  imagehub status --harvest SOURCE [--json] [options]  a harvest source's last run (SOURCE: the OAI-PMH URL, with
                                                       --set SET, or the source id a harvest reported)

The recent list also shows the harvest sources with their latest run (running, finished, or stopped with its
checkpoint); --harvest shows one source's whole state.

  --limit N            how many recent ingests to list (default 20, at most 200)
  --set SET            with --harvest URL: the set that harvest used

${targetHelp()}

  --json               print JSON
  -h, --help           this help

Exit status: 0 when found (for ID: whatever its status), 1 when the image or harvest source is unknown, 2 for a
usage error.`;

export async function statusCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      limit: { type: 'string' },
      harvest: { type: 'string' },
      set: { type: 'string' },
      ...TARGET_OPTIONS,
      ...COMMON_OPTIONS,
    },
  });
  if (values.help) {
    io.stdout.write(`${STATUS_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`give one identifier at most, got ${positionals.length} (${positionals.join(' ')})`);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError(`--limit must be a whole number from 1 to 200, got "${values.limit}"`);
  if (values.harvest !== undefined && positionals.length > 0) throw new UsageError('give an identifier or --harvest SOURCE, not both');
  if (values.set !== undefined && values.harvest === undefined) throw new UsageError('--set goes with --harvest URL');

  const target = resolveTarget(values, io.env);
  try {
    const stores = createStores(target.db, target.tableName);
    if (values.harvest !== undefined) return await harvestStatus(values.harvest, values.set, stores, io.stdout, values.json === true);
    if (positionals[0] !== undefined) return await imageStatus(positionals[0], stores, target, io.stdout, values.json === true);
    return await recent(limit, stores, target, io.stdout, values.json === true);
  } finally {
    target.close();
  }
}

async function imageStatus(identifier: string, stores: Stores, target: Target, out: Output, json: boolean): Promise<number> {
  const item = await stores.images.get(identifier);
  if (!item) {
    const hint = identifier.includes('/') ? ` (that looks like a key: its identifier is the key with / as : and no extension)` : '';
    throw new NotFound(`no image with identifier "${identifier}"${hint}`);
  }
  let manifest: string | undefined;
  let objectId: string | undefined;
  for (const record of await stores.records.recordsForImage(item.links)) {
    const id = record.record ? objectIdFor(record.record) : undefined;
    if (!id) continue;
    objectId = id;
    const summary = await stores.objects.get(id);
    if (summary?.listed && target.publicUrl) manifest = manifestUrl(target.publicUrl, 3, id);
    break;
  }
  const infoJson = item.published && target.publicUrl ? infoJsonUrl(target.publicUrl, item.identifier) : undefined;
  if (json) {
    out.write(`${JSON.stringify({ ...item, ...(infoJson ? { infoJson } : {}), ...(objectId ? { objectId } : {}), ...(manifest ? { manifest } : {}) })}\n`);
    return 0;
  }
  const lines: [string, string | undefined][] = [
    ['identifier', item.identifier],
    ['status', item.status],
    ['reason', item.reason],
    ['dimensions', item.published ? `${item.published.width} × ${item.published.height} px` : item.source ? `${item.source.width} × ${item.source.height} px (master)` : undefined],
    ['revision', item.published?.revision],
    ['access', item.published?.access ? `${item.published.access.policy}${item.published.access.maxLongSide && item.published.access.policy === 'restricted-size' ? ` (${item.published.access.maxLongSide} px)` : ''}: ${item.published.access.reason}${item.published.access.changesOn ? ` (changes on ${item.published.access.changesOn})` : ''}` : undefined],
    ['published', item.publishedAt],
    ['updated', item.updatedAt],
    ['source key', item.sourceKey],
    ['info.json', infoJson],
    ['object', objectId],
    ['manifest', manifest ?? (objectId ? 'none yet (the object has no manifest)' : undefined)],
  ];
  if (item.status === 'failed' && item.published) lines.push(['note', 'the previous revision stays published']);
  for (const [name, value] of lines) if (value !== undefined) out.write(`${name.padEnd(11)} ${value}\n`);
  return 0;
}

async function recent(limit: number, stores: Stores, target: Target, out: Output, json: boolean): Promise<number> {
  const entries = await stores.images.recentActivity(limit);
  const rows = entries.map((entry) => (isRefusal(entry) ? refusalRow(entry) : imageRow(entry, target.publicUrl)));
  const harvests = (await stores.harvestState.recent(limit)).map((state) => ({ source: state.source, at: state.activityAt, ...describeHarvestState(state) }));
  if (json) {
    out.write(`${JSON.stringify({ ingests: rows, harvests })}\n`);
    return 0;
  }
  if (harvests.length > 0) {
    out.write(`harvests in ${target.description}, latest first:\n`);
    for (const h of harvests) out.write(`${h.at}  ${h.status.padEnd(10)} ${h.source}  ${h.summary}\n`);
  }
  if (rows.length === 0) {
    out.write(`no ingests yet in ${target.description}\n`);
    return 0;
  }
  out.write(`latest ${rows.length} ingest${rows.length === 1 ? '' : 's'} in ${target.description}, newest first:\n`);
  for (const row of rows) {
    const detail = row.reason ?? row.infoJson ?? '';
    out.write(`${row.at}  ${row.status.padEnd(10)} ${row.identifier ?? row.sourceKey}${row.identifier && row.sourceKey !== row.identifier ? `  (${row.sourceKey})` : ''}  ${detail}`.trimEnd() + '\n');
  }
  return 0;
}

interface Row {
  at: string;
  status: string;
  identifier?: string;
  sourceKey: string;
  reason?: string;
  infoJson?: string;
}

function isRefusal(entry: ImageItem | IngestRefusal): entry is IngestRefusal & { status: 'failed' } {
  return 'at' in entry && !('updatedAt' in entry);
}

function refusalRow(refusal: IngestRefusal): Row {
  return { at: refusal.at, status: 'refused', sourceKey: refusal.sourceKey, reason: refusal.reason, ...(refusal.identifier ? { identifier: refusal.identifier } : {}) };
}

function imageRow(item: ImageItem, publicUrl: string | undefined): Row {
  return {
    at: item.updatedAt,
    status: item.status,
    identifier: item.identifier,
    sourceKey: item.sourceKey,
    ...(item.reason ? { reason: item.reason } : {}),
    ...(item.status === 'ready' && publicUrl ? { infoJson: infoJsonUrl(publicUrl, item.identifier) } : {}),
  };
}

async function harvestStatus(source: string, set: string | undefined, stores: Stores, out: Output, json: boolean): Promise<number> {
  let id = source;
  if (/^https?:\/\//.test(source)) {
    try {
      id = defaultSourceId(source, set);
    } catch {
      throw new UsageError(`--harvest "${source}" is not a valid URL`);
    }
  }
  const state = await stores.harvestState.get(id);
  if (!state.lastSuccess && !state.running && !state.lastReconcile) throw new NotFound(`no harvest recorded for source "${id}"`);
  if (json) {
    out.write(`${JSON.stringify({ source: id, ...state })}\n`);
    return 0;
  }
  out.write(`harvest source ${id}\n`);
  if (state.lastSuccess) {
    const r = state.lastSuccess.report as unknown as Record<string, unknown>;
    const counts = ['added', 'updated', 'unchanged', 'deleted', 'skipped'].map((name) => `${Number(r[name] ?? 0)} ${name}`).join(', ');
    out.write(`last complete  ${state.lastSuccess.finishedAt} (${String(r.mode ?? 'harvest')}, started ${state.lastSuccess.startedAt}): ${counts}\n`);
  } else out.write('last complete  never\n');
  if (state.running) out.write(`unfinished     started ${state.running.startedAt}, ${state.running.pages} pages so far, last checkpoint ${state.running.checkpointAt}\n`);
  if (state.lastReconcile) out.write(`reconciled     ${JSON.stringify(state.lastReconcile).slice(0, 200)}\n`);
  return 0;
}

/** What the user asked about does not exist: exit 1, said plainly. */
export class NotFound extends Error {}

/**
 * What the record mirror (functions/store/records.ts) and the harvester (functions/harvest/harvest.ts) share: write
 * outcomes, the harvest report and the state of a running harvest. Pure types, no AWS.
 */

/** `added` new, `updated` changed, `unchanged` same content (not rewritten), `stale` the mirror holds a newer version. */
export type UpsertResult = 'added' | 'updated' | 'unchanged' | 'stale';
export type DeleteResult = 'deleted' | 'unchanged' | 'stale';

/** The record cannot fit in a DynamoDB item even without its raw XML: skipped and reported, not stored. */
export class RecordTooLargeError extends Error {}

export interface HarvestCounts {
  added: number;
  updated: number;
  unchanged: number;
  stale: number;
  deleted: number;
  skipped: number;
  /** Records of other sets (the Datahub ignores `set` when `from` is given): not mirrored under this source. */
  outsideSet: number;
}

export interface SkippedEntry {
  identifier?: string;
  reason: string;
}

/** What one harvest run did (cumulative over the invocations that resumed it). */
export interface HarvestReport extends HarvestCounts {
  source: string;
  mode: 'full' | 'incremental';
  startedAt: string;
  from?: string;
  pages: number;
  /** Skipped records with the reason (the first {@link MAX_SKIPPED_KEPT}; `skipped` counts them all). */
  skippedRecords: SkippedEntry[];
  /** This invocation's duration. */
  durationMs: number;
  /** This invocation continued an unfinished run from its checkpoint. */
  resumed: boolean;
  /** The list was harvested to its end; the run is finished. */
  complete: boolean;
  /** Why an incomplete run stopped (`deadline`, a fault after retries, an OAI error). */
  stoppedBecause?: string;
}

export const MAX_SKIPPED_KEPT = 200;

export interface RunningHarvest {
  startedAt: string;
  /** The invocation currently driving the run; checkpoints are conditional on it. */
  owner: string;
  mode: 'full' | 'incremental';
  from?: string;
  set?: string;
  /** The resumption token of the next page; absent before the first page. */
  token?: string;
  pages: number;
  counts: HarvestCounts;
  skipped: SkippedEntry[];
  checkpointAt: string;
  /** How many invocations took the run over after the first. */
  resumptions: number;
}

export interface HarvestState {
  lastSuccess?: { startedAt: string; finishedAt: string; report: HarvestReport };
  running?: RunningHarvest;
  lastReconcile?: Record<string, unknown>;
}

export type CheckpointProgress = Pick<RunningHarvest, 'pages' | 'counts' | 'skipped'> & { token?: string };

/** One line about a harvest source's state, for people: what runs or last ran, and how it went. */
export function describeHarvestState(state: HarvestState): { status: string; summary: string } {
  const counts = (c: HarvestCounts) => `${c.added} added, ${c.updated} updated, ${c.deleted} deleted, ${c.skipped} skipped`;
  if (state.running) {
    const r = state.running;
    return { status: 'running', summary: `${r.mode} harvest started ${r.startedAt}, ${r.pages} pages so far (${counts(r.counts)}); checkpoint ${r.checkpointAt}` };
  }
  if (state.lastSuccess) {
    const s = state.lastSuccess;
    return { status: 'done', summary: `${s.report.mode} harvest finished ${s.finishedAt}: ${s.report.pages} pages (${counts(s.report)})` };
  }
  if (state.lastReconcile) return { status: 'reconciled', summary: 'reconciled; no harvest has completed yet' };
  return { status: 'never', summary: 'no harvest yet' };
}

/**
 * The OAI-PMH base URL a harvest source id names (ids are the base URL, plus `?set=…` for a set: see
 * `defaultSourceId` in functions/harvest/harvest.ts); undefined for other sources (`file:…`, custom ids).
 */
export function repositoryUrlOf(source: string | undefined): string | undefined {
  if (!source || !/^https?:\/\/[^/?#\s]+/.test(source)) return undefined;
  return source.replace(/\?set=.*$/, '');
}

/**
 * The data-hub harvester: OAI-PMH ListRecords into the record mirror, resumable page by page, and the
 * ListIdentifiers reconciliation that finds the records the repository dropped (the Datahub keeps no tombstones).
 *
 * A run is `full` (the whole list) or `incremental` (from the previous successful run's start, minus an overlap, at
 * the repository's granularity). After every page the run's progress (resumption token, counts) is checkpointed
 * in the harvest state item; an invocation that finds an unfinished run continues it from its token, or, if the
 * repository refuses that token (badResumptionToken), lists again from the run's `from`. Records are upserted
 * conditionally on their datestamp, so a page processed twice changes nothing.
 *
 * Faults: HTTP 503/429 wait for Retry-After (capped), other 5xx, timeouts, dropped connections and cut-off pages
 * back off exponentially; after a bounded number of attempts the run stops with its checkpoint intact, and the next
 * invocation resumes it. A complete page that is not well-formed because of one record is harvested record by record
 * (the broken record is skipped and reported). The run also stops cleanly before a deadline (the Lambda's remaining
 * time), leaving the checkpoint. No AWS here: the stores, fetch and the clock are passed in.
 */
import { randomUUID } from 'node:crypto';
import { eachLimited } from '../core/concurrency.ts';
import { decideRights, type RightsAuthority, type RightsDecision } from '../core/rights.ts';
import { mapLidoRecord, parseLidoDocument } from '../core/lido.ts';
import type { MappedRecord } from '../core/record.ts';
import {
  incrementalFrom,
  OaiProtocolError,
  oaiRequestUrl,
  parseOaiResponse,
  type OaiError,
  type OaiHeader,
  type ResumptionToken,
} from '../core/oai-pmh.ts';
import {
  MAX_SKIPPED_KEPT,
  RecordTooLargeError,
  type DeleteResult,
  type HarvestCounts,
  type HarvestReport,
  type RunningHarvest,
  type SkippedEntry,
} from '../core/mirror.ts';
import type { HarvestStateStore, RecordStore } from '../store/records.ts';

export type { HarvestReport } from '../core/mirror.ts';

export type HarvestMode = 'auto' | 'full' | 'incremental';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export type Fetch = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

export type RecordMirror = Pick<RecordStore, 'upsert' | 'upsertMany' | 'markDeleted' | 'listSourceIds'>;
export type HarvestStates = Pick<HarvestStateStore, 'get' | 'start' | 'takeOver' | 'checkpoint' | 'finish' | 'recordReconcile'>;

export interface RetryPolicy {
  /** Attempts per request (the first included) before the run stops. */
  maxAttempts: number;
  /** Back-off before the second attempt; doubles each time. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer Retry-After is waited only this long. */
  maxRetryAfterMs: number;
  /** A request that has not answered by then is abandoned (and retried). */
  requestTimeoutMs: number;
  /** Time kept before the deadline: no page is started later (at least twice the slowest page so far). */
  reserveMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 2_000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 300_000,
  requestTimeoutMs: 60_000,
  reserveMs: 30_000,
};

/**
 * Default overlap of incremental harvests, one day. `from` is our previous start, but datestamps come from the
 * repository's clock and are assigned when a record is written, not when it becomes visible (bulk imports); a
 * repository that stamps local time as UTC is off by hours. Re-reading a day's changes costs little: unchanged
 * records are only read (a page's in one batch) and are not rewritten.
 */
export const DEFAULT_OVERLAP_SECONDS = 86_400;

/**
 * The largest OAI-PMH response read, 32 MiB. A page is held whole while it is parsed (the text, then its tree: several
 * times the bytes), so an unbounded page — a repository misconfigured to put everything on one page, a proxy's
 * endless error stream, a hostile endpoint — would exhaust the function's memory. Real pages are far smaller: the
 * data hub's hold 25 records of about 12 KB, and even 100 records at the mirror's ~350 KB per-record maximum fit. A
 * larger page stops the run with that reason (not retried: the same page would come again), checkpoint intact.
 */
export const DEFAULT_MAX_PAGE_BYTES = 32 * 1024 * 1024;

export interface HarvestSource {
  fetch: Fetch;
  /** Responses larger than this are refused ({@link DEFAULT_MAX_PAGE_BYTES}). */
  maxPageBytes?: number;
  clock?: Clock;
  /** Harvest source id: names the state item and tags the records (`bySource`). */
  source: string;
  baseUrl: string;
  metadataPrefix?: string;
  set?: string;
  retry?: Partial<RetryPolicy>;
  /** Epoch milliseconds by which the invocation must have stopped (e.g. the Lambda's remaining time). */
  deadline?: number;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

export interface HarvestOptions extends HarvestSource {
  records: RecordMirror;
  state: HarvestStates;
  /**
   * `auto` (default): continue an unfinished run, else incremental after a first successful full run. `full` and
   * `incremental` continue an unfinished run of that kind or replace it; incremental without a previous success is full.
   */
  mode?: HarvestMode;
  overlapSeconds?: number;
  /** The VKC authority files, when available: rights for records that state none themselves. */
  authority?: RightsAuthority;
  /**
   * List from this datestamp instead of the incremental cursor (`YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`, as the
   * repository's granularity allows): always a new run, kept as `incremental` unless `mode` is `full`.
   */
  from?: string;
  /** Called after every checkpointed page (progress displays). */
  onPage?: (progress: HarvestProgress) => void;
}

export interface HarvestProgress {
  pages: number;
  counts: HarvestCounts;
  /** The repository's `completeListSize`, when it gives one. */
  completeListSize?: number;
  /** Records and deleted headers processed so far in this run. */
  processed: number;
}

/**
 * A harvest source id from the repository URL and set: `https://datahub.example.org/oai`, `…/oai?set=institution:x`.
 * It is the repository's base URL, so manifests can link each record's GetRecord URL (`repositoryUrlOf`, core/mirror.ts).
 */
export function defaultSourceId(baseUrl: string, set?: string): string {
  const url = new URL(baseUrl);
  const id = `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
  return set ? `${id}?set=${set}` : id;
}


// ---------------------------------------------------------------------------------------------------------------
// Harvest

export async function runHarvest(options: HarvestOptions): Promise<HarvestReport> {
  const ctx = context(options);
  const { records, state, source } = options;
  const startedMs = ctx.clock.now();
  const nowIso = () => new Date(ctx.clock.now()).toISOString();
  // Names this invocation: its start and a random suffix (two invocations can start in the same millisecond).
  const owner = `${nowIso()}#${randomUUID().slice(0, 8)}`;
  const mode = options.mode ?? 'auto';

  const current = await state.get(source);
  let run: RunningHarvest;
  let resumed = false;
  // Incremental needs a previous success; until then every run is full, whatever was asked.
  const explicitFrom = mode !== 'full' ? options.from : undefined;
  const newMode = explicitFrom !== undefined || (mode !== 'full' && current.lastSuccess !== undefined) ? 'incremental' : 'full';
  if (current.running && explicitFrom === undefined && (mode === 'auto' || current.running.mode === newMode)) {
    // An unfinished run (stopped at a deadline, after faults, or crashed): continue from its checkpoint.
    if (!(await state.takeOver(source, current.running.owner, owner, nowIso()))) {
      return stoppedBeforeStart(options, current.running.mode, nowIso(), startedMs, 'another invocation took the unfinished run over first');
    }
    run = { ...current.running, owner };
    resumed = true;
    ctx.log('resuming the unfinished harvest', { source, startedAt: run.startedAt, pages: run.pages, token: run.token });
  } else {
    const incremental = newMode === 'incremental';
    let from: string | undefined = explicitFrom;
    if (incremental && from === undefined) {
      const identify = await request(ctx, oaiRequestUrl(options.baseUrl, 'Identify'));
      if (!identify.ok) return stoppedBeforeStart(options, 'incremental', nowIso(), startedMs, identify.reason);
      const granularity = identify.page.identify?.granularity ?? 'YYYY-MM-DDThh:mm:ssZ';
      from = incrementalFrom(new Date(current.lastSuccess!.startedAt), granularity, options.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS);
    }
    run = {
      startedAt: nowIso(),
      owner,
      mode: incremental ? 'incremental' : 'full',
      ...(from ? { from } : {}),
      ...(options.set ? { set: options.set } : {}),
      pages: 0,
      counts: zeroCounts(),
      skipped: [],
      checkpointAt: nowIso(),
      resumptions: 0,
    };
    if (!(await state.start(source, run, current.running?.owner))) {
      return stoppedBeforeStart(options, run.mode, nowIso(), startedMs, 'another invocation started a run first');
    }
    ctx.log('harvest started', { source, mode: run.mode, from });
  }

  const report = (complete: boolean, stoppedBecause?: string): HarvestReport => ({
    source,
    mode: run.mode,
    startedAt: run.startedAt,
    ...(run.from ? { from: run.from } : {}),
    pages: run.pages,
    ...run.counts,
    skippedRecords: run.skipped,
    durationMs: ctx.clock.now() - startedMs,
    resumed,
    complete,
    ...(stoppedBecause ? { stoppedBecause } : {}),
  });

  let restarts = 0;
  let slowestPageMs = 0;
  const year = () => new Date(ctx.clock.now()).getUTCFullYear();
  // The next page is requested (and parsed and mapped) once this one's writes are under way: the harvester's CPU
  // work then overlaps the table's. Abandoned, its request aborted, when the run stops before it.
  const abandon = new AbortController();
  let ahead: { url: string; fetched: Promise<Fetched> } | undefined;
  try {
    for (;;) {
      if (pastDeadline(ctx, 2 * slowestPageMs)) return report(false, 'deadline');
      const pageStart = ctx.clock.now();
      const url = run.token
        ? oaiRequestUrl(options.baseUrl, 'ListRecords', { resumptionToken: run.token })
        : oaiRequestUrl(options.baseUrl, 'ListRecords', { metadataPrefix: ctx.metadataPrefix, ...(run.set ? { set: run.set } : {}), ...(run.from ? { from: run.from } : {}) });
      const fetched = await (ahead?.url === url ? ahead.fetched : request(ctx, url));
      ahead = undefined;
      if (!fetched.ok) return report(false, fetched.reason);
      const { page } = fetched;
      const error = page.errors[0];
      if (error?.code === 'noRecordsMatch') {
        // Nothing (more) in the list: for an incremental run, nothing changed since `from`.
        break;
      }
      if (error?.code === 'badResumptionToken' && run.token) {
        // Stateless tokens can still go bad (a redeployed repository): list again from the run's own `from`.
        if (++restarts > 2) return report(false, `the repository refused the resumption token ${restarts} times: ${error.message}`);
        ctx.log('resumption token refused; listing again from the run\'s from', { source, from: run.from });
        delete run.token;
        continue;
      }
      if (error) return report(false, `OAI error ${error.code}: ${error.message}`);

      const next = page.token?.value;
      const readAhead = () => {
        if (!next || ahead) return;
        const nextUrl = oaiRequestUrl(options.baseUrl, 'ListRecords', { resumptionToken: next });
        ahead = { url: nextUrl, fetched: request(ctx, nextUrl, abandon.signal) };
        // Awaited with the next page, or never (the run stopped first).
        ahead.fetched.catch(() => undefined);
      };
      await storePage(run, page.items, records, source, nowIso, (record) => decideRights(record, options.authority, year()), readAhead);
      // A page without records to write reads ahead only now.
      readAhead();
      run.pages++;
      if (next) run.token = next;
      else delete run.token;
      slowestPageMs = Math.max(slowestPageMs, ctx.clock.now() - pageStart);
      const progress = { pages: run.pages, counts: run.counts, skipped: run.skipped, ...(run.token ? { token: run.token } : {}) };
      if (!(await state.checkpoint(source, owner, progress, nowIso()))) return report(false, 'another invocation took the run over');
      const listSize = page.token?.completeListSize;
      options.onPage?.({ pages: run.pages, counts: { ...run.counts }, processed: processedCount(run.counts), ...(listSize !== undefined ? { completeListSize: listSize } : {}) });
      if (!next) break;
    }
  } catch (problem) {
    // The store failed (throttling beyond the SDK's retries, the table unreachable): the checkpoint stays.
    return report(false, `stopped by an error: ${messageOf(problem)}`);
  } finally {
    abandon.abort();
  }
  const done = report(true);
  if (!(await state.finish(source, owner, { startedAt: run.startedAt, finishedAt: nowIso(), report: done }))) {
    return { ...done, complete: false, stoppedBecause: 'another invocation took the run over' };
  }
  ctx.log('harvest finished', { ...done, skippedRecords: done.skippedRecords.length });
  return done;
}

function stoppedBeforeStart(options: HarvestOptions, mode: 'full' | 'incremental', startedAt: string, startedMs: number, reason: string): HarvestReport {
  const clock = options.clock ?? systemClock;
  return {
    source: options.source, mode, startedAt, pages: 0, ...zeroCounts(), skippedRecords: [],
    durationMs: clock.now() - startedMs, resumed: false, complete: false, stoppedBecause: reason,
  };
}

function processedCount(counts: HarvestCounts): number {
  return counts.added + counts.updated + counts.unchanged + counts.stale + counts.deleted + counts.skipped + counts.outsideSet;
}

function zeroCounts(): HarvestCounts {
  return { added: 0, updated: 0, unchanged: 0, stale: 0, deleted: 0, skipped: 0, outsideSet: 0 };
}

function skip(run: { counts: HarvestCounts; skipped: SkippedEntry[] }, entry: SkippedEntry): void {
  run.counts.skipped++;
  if (run.skipped.length < MAX_SKIPPED_KEPT) run.skipped.push(entry.identifier ? { identifier: entry.identifier, reason: entry.reason } : { reason: entry.reason });
}

/** The Datahub ignores `set` when `from` is given: records whose header names other sets are not this source's. */
function outsideSet(set: string | undefined, header: OaiHeader | undefined): boolean {
  return set !== undefined && header !== undefined && header.setSpecs.length > 0 && !header.setSpecs.includes(set);
}

/**
 * One page into the mirror: its records with one {@link RecordStore.upsertMany} (one batch read, then writes of the
 * changed ones only; `onWriting` once they are under way), then its deleted headers; counts and skips are tallied in
 * page order.
 */
async function storePage(
  run: RunningHarvest,
  items: PageItem[],
  records: RecordMirror,
  source: string,
  now: () => string,
  rights: (record: MappedRecord) => RightsDecision,
  onWriting: () => void,
): Promise<void> {
  const mirrored = items.filter((item) => item.kind !== 'skipped' && !outsideSet(run.set, item.header));
  const inputs = mirrored.flatMap((item) => (item.kind === 'record' ? [{ record: item.record, rawXml: item.xml, rights: rights(item.record) }] : []));
  const results = inputs.length > 0 ? await records.upsertMany(inputs, source, now(), { onWriting }) : [];
  const deletions = new Map<PageItem, DeleteResult>();
  // Deletions are independent and a page is small: a few at a time.
  await eachLimited(mirrored.filter((item) => item.kind === 'deleted'), 8, async (item) => {
    deletions.set(item, await records.markDeleted(item.header.identifier, item.header.datestamp, now(), source));
  });
  let next = 0;
  for (const item of items) {
    if (item.kind === 'skipped') {
      skip(run, item);
    } else if (outsideSet(run.set, item.header)) {
      run.counts.outsideSet++;
    } else if (item.kind === 'deleted') {
      run.counts[deletions.get(item)!]++;
    } else {
      const result = results[next++]!;
      if (result instanceof RecordTooLargeError) skip(run, { identifier: item.record.recordId, reason: result.message });
      else run.counts[result]++;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reconciliation

export interface ReconcileOptions extends HarvestSource {
  records: RecordMirror;
  state?: Pick<HarvestStates, 'recordReconcile'>;
  authority?: RightsAuthority;
  /** Fetch (GetRecord) the records the repository lists but the mirror lacks or holds in an older version. */
  refetch?: boolean;
  /**
   * Refuse to delete more than this share of the source's records (a repository glitch must not empty the
   * mirror); `force` overrides it. An empty list against a non-empty mirror is always refused without `force`.
   */
  maxDeleteShare?: number;
  force?: boolean;
}

export interface ReconcileReport {
  source: string;
  startedAt: string;
  /** Identifiers the repository lists. */
  listed: number;
  /** Active records of this source in the mirror before reconciling. */
  mirrored: number;
  deleted: number;
  /** The first 100 identifiers marked deleted. */
  deletedIds: string[];
  /** Listed but not mirrored / mirrored in an older version. */
  missing: number;
  outdated: number;
  refetched: Pick<HarvestCounts, 'added' | 'updated' | 'unchanged' | 'stale'>;
  skippedRecords: SkippedEntry[];
  durationMs: number;
  complete: boolean;
  stoppedBecause?: string;
}

/**
 * ListIdentifiers (the whole list, never incremental) against the mirror: records of this source the repository no
 * longer lists are marked deleted, with their own datestamp (so a record that reappears unchanged comes back).
 * Deletes happen only after the complete list was read, and only if its length matches `completeListSize`: a list
 * that changed while it was paged (the Datahub's offset tokens shift) could otherwise miss live records.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const ctx = context(options);
  const startedMs = ctx.clock.now();
  const nowIso = () => new Date(ctx.clock.now()).toISOString();
  const report: ReconcileReport = {
    source: options.source, startedAt: nowIso(), listed: 0, mirrored: 0, deleted: 0, deletedIds: [], missing: 0, outdated: 0,
    refetched: { added: 0, updated: 0, unchanged: 0, stale: 0 }, skippedRecords: [], durationMs: 0, complete: false,
  };
  const finish = async (stoppedBecause?: string): Promise<ReconcileReport> => {
    report.durationMs = ctx.clock.now() - startedMs;
    report.complete = stoppedBecause === undefined;
    if (stoppedBecause) report.stoppedBecause = stoppedBecause;
    await options.state?.recordReconcile(options.source, report);
    ctx.log('reconciliation finished', { ...report, deletedIds: report.deletedIds.length });
    return report;
  };

  const listing = await listIdentifiers(ctx, options);
  if (!listing.ok) return finish(`${listing.reason}; nothing was deleted`);
  const listed = listing.identifiers;
  report.listed = listed.size;

  const mirrored: { recordId: string; oaiIdentifier?: string; datestamp: string }[] = [];
  for await (const entry of options.records.listSourceIds(options.source)) mirrored.push(entry);
  report.mirrored = mirrored.length;
  const absent = mirrored.filter((entry) => !listed.has(entry.oaiIdentifier ?? entry.recordId));
  const mirroredIds = new Map(mirrored.map((entry) => [entry.oaiIdentifier ?? entry.recordId, entry.datestamp]));
  const toFetch: string[] = [];
  for (const [identifier, datestamp] of listed) {
    const held = mirroredIds.get(identifier);
    if (held === undefined) report.missing++;
    else if (held < datestamp) report.outdated++;
    else continue;
    toFetch.push(identifier);
  }

  if (!options.force && absent.length > 0) {
    if (listed.size === 0) return finish(`the repository lists no records but the mirror holds ${mirrored.length}; nothing was deleted (force to accept)`);
    const share = options.maxDeleteShare ?? 0.2;
    if (absent.length > share * mirrored.length) {
      return finish(`${absent.length} of ${mirrored.length} records would be deleted, more than ${share * 100} %; nothing was deleted (force to accept)`);
    }
  }
  for (const entry of absent) {
    const result = await options.records.markDeleted(entry.recordId, entry.datestamp, nowIso(), options.source);
    if (result === 'deleted') {
      report.deleted++;
      if (report.deletedIds.length < 100) report.deletedIds.push(entry.recordId);
    }
  }

  if (options.refetch ?? true) {
    const year = new Date(ctx.clock.now()).getUTCFullYear();
    const run = { counts: zeroCounts(), skipped: report.skippedRecords };
    for (const identifier of toFetch) {
      if (pastDeadline(ctx, 0)) return finish(`deadline: ${toFetch.length - toFetch.indexOf(identifier)} listed records were not fetched`);
      const fetched = await request(ctx, oaiRequestUrl(options.baseUrl, 'GetRecord', { identifier, metadataPrefix: ctx.metadataPrefix }));
      if (!fetched.ok) return finish(`GetRecord ${identifier}: ${fetched.reason}`);
      const error = fetched.page.errors[0];
      if (error) {
        skip(run, { identifier, reason: `GetRecord: OAI error ${error.code}: ${error.message}` });
        continue;
      }
      for (const item of fetched.page.items) {
        if (item.kind === 'skipped') skip(run, item);
        else if (item.kind === 'record') {
          try {
            report.refetched[await options.records.upsert(item.record, item.xml, decideRights(item.record, options.authority, year), options.source, nowIso())]++;
          } catch (problem) {
            if (!(problem instanceof RecordTooLargeError)) throw problem;
            skip(run, { identifier: item.record.recordId, reason: problem.message });
          }
        }
      }
    }
  }
  return finish();
}

/** Every identifier the repository lists (deleted headers excluded) with its datestamp. */
async function listIdentifiers(ctx: Context, options: HarvestSource): Promise<{ ok: true; identifiers: Map<string, string> } | { ok: false; reason: string }> {
  const first = oaiRequestUrl(options.baseUrl, 'ListIdentifiers', { metadataPrefix: ctx.metadataPrefix, ...(options.set ? { set: options.set } : {}) });
  const identifiers = new Map<string, string>();
  let url = first;
  const sizes = new Set<number>();
  let seen = 0;
  let restarts = 0;
  for (;;) {
    if (pastDeadline(ctx, 0)) return { ok: false, reason: 'deadline before the list was complete' };
    const fetched = await request(ctx, url);
    if (!fetched.ok) return fetched;
    const error = fetched.page.errors[0];
    if (error?.code === 'noRecordsMatch') break;
    if (error?.code === 'badResumptionToken' && restarts++ < 2) {
      identifiers.clear();
      sizes.clear();
      seen = 0;
      url = first;
      continue;
    }
    if (error) return { ok: false, reason: `OAI error ${error.code}: ${error.message}` };
    if (fetched.page.unidentified > 0) return { ok: false, reason: `${fetched.page.unidentified} headers without an identifier` };
    for (const header of fetched.page.headers) {
      seen++;
      if (!header.deleted) identifiers.set(header.identifier, header.datestamp);
    }
    const size = fetched.page.token?.completeListSize;
    if (size !== undefined) sizes.add(size);
    const next = fetched.page.token?.value;
    if (!next) break;
    url = oaiRequestUrl(options.baseUrl, 'ListIdentifiers', { resumptionToken: next });
  }
  // The Datahub's tokens are offsets: a list that changes while it is paged shifts, and a live record can be missed.
  // A change of size shows it (a deletion plus an insertion does not; the next reconciliation refetches a record
  // wrongly marked deleted, as it is listed but not active in the mirror).
  if (sizes.size > 1 || (sizes.size === 1 && !sizes.has(seen))) {
    return { ok: false, reason: `the list changed while it was read (${seen} headers, completeListSize ${[...sizes].join(' then ')})` };
  }
  return { ok: true, identifiers };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

interface Context {
  fetch: Fetch;
  clock: Clock;
  retry: RetryPolicy;
  deadline?: number;
  metadataPrefix: string;
  maxPageBytes: number;
  log: (message: string, details?: Record<string, unknown>) => void;
}

function context(options: HarvestSource): Context {
  return {
    fetch: options.fetch,
    clock: options.clock ?? systemClock,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    metadataPrefix: options.metadataPrefix ?? 'oai_lido',
    maxPageBytes: options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES,
    log: options.log ?? (() => {}),
  };
}

/** True when less than `reserveMs` (or `extraMs`, if larger) is left before the deadline. */
function pastDeadline(ctx: Context, extraMs: number): boolean {
  return ctx.deadline !== undefined && ctx.clock.now() + Math.max(ctx.retry.reserveMs, extraMs) > ctx.deadline;
}

type PageItem =
  | { kind: 'record'; header?: OaiHeader; record: MappedRecord; xml: string }
  | { kind: 'deleted'; header: OaiHeader }
  | { kind: 'skipped'; identifier?: string; reason: string };

interface Page {
  errors: OaiError[];
  items: PageItem[];
  headers: OaiHeader[];
  unidentified: number;
  token?: ResumptionToken;
  identify?: { granularity: 'YYYY-MM-DD' | 'YYYY-MM-DDThh:mm:ssZ' };
}

type Fetched = { ok: true; page: Page } | { ok: false; reason: string };

/** One OAI-PMH request with the retry policy: a page, or why it could not be had. */
async function request(ctx: Context, url: string, abandon?: AbortSignal): Promise<Fetched> {
  const { retry, clock } = ctx;
  let fault = '';
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    let waitMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    try {
      const timeout = AbortSignal.timeout(retry.requestTimeoutMs);
      const response = await ctx.fetch(url, {
        signal: abandon ? AbortSignal.any([timeout, abandon]) : timeout,
        headers: { accept: 'text/xml, application/xml' },
      });
      if (response.status === 503 || response.status === 429) {
        await response.body?.cancel();
        const retryAfter = retryAfterMs(response.headers.get('retry-after'), clock.now());
        if (retryAfter !== undefined) waitMs = Math.min(retry.maxRetryAfterMs, retryAfter);
        fault = `HTTP ${response.status}${retryAfter !== undefined ? ` (Retry-After ${Math.round(retryAfter / 1000)} s)` : ''}`;
      } else if (response.status >= 500) {
        await response.body?.cancel();
        fault = `HTTP ${response.status}`;
      } else {
        const body = await boundedText(response, ctx.maxPageBytes);
        if (body === undefined) {
          return { ok: false, reason: `the response to ${url} is larger than ${ctx.maxPageBytes} bytes (the page size limit): not read` };
        }
        // The Datahub answers OAI errors with HTTP 400; anything else not 200 is not OAI-PMH speaking.
        if (response.status !== 200 && response.status !== 400) return { ok: false, reason: `HTTP ${response.status} from ${url}` };
        const page = readPage(body);
        if (page) return { ok: true, page };
        fault = 'the response was cut off';
      }
    } catch (error) {
      // Timeouts, refused or dropped connections.
      fault = messageOf(error);
    }
    // A page read ahead that the run no longer wants: no retries, nothing to report.
    if (abandon?.aborted) return { ok: false, reason: 'abandoned' };
    ctx.log('OAI-PMH request failed', { url, attempt, fault });
    if (attempt === retry.maxAttempts) break;
    if (ctx.deadline !== undefined && clock.now() + waitMs + retry.reserveMs > ctx.deadline) {
      return { ok: false, reason: `deadline, while retrying after: ${fault}` };
    }
    await clock.sleep(waitMs);
    if (abandon?.aborted) return { ok: false, reason: 'abandoned' };
  }
  return { ok: false, reason: `gave up after ${retry.maxAttempts} attempts: ${fault}` };
}

/**
 * The body as UTF-8 text (as Response.text() decodes it), or undefined as soon as it is known to exceed `limit`
 * bytes: by its Content-Length, else while it streams, so no more than `limit` bytes are ever held.
 */
async function boundedText(response: Response, limit: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * A response as a page; undefined when it is not a whole document (a cut-off transfer: retry). A whole document
 * that is not well-formed (one broken record) is read record by record, the broken ones skipped with the reason.
 */
function readPage(body: string): Page | undefined {
  try {
    const response = parseOaiResponse(body);
    const items: PageItem[] = response.records.map((record): PageItem => {
      if (record.header.deleted) return { kind: 'deleted', header: record.header };
      if (!record.metadata) return { kind: 'skipped', identifier: record.header.identifier, reason: 'OAI record has no metadata' };
      // parseOaiResponse validated the whole page, so each record's XML is well-formed.
      const mapped = mapLidoRecord(record.metadata, record.header, { wellFormed: true });
      return mapped.ok ? { kind: 'record', header: record.header, record: mapped.record, xml: record.metadata } : { kind: 'skipped', ...mapped.skipped };
    });
    for (let i = 0; i < response.unidentified; i++) items.push({ kind: 'skipped', reason: 'OAI record without an identifier in its header' });
    return {
      errors: response.errors,
      items,
      headers: response.headers,
      unidentified: response.unidentified,
      ...(response.resumptionToken ? { token: response.resumptionToken } : {}),
      ...(response.identify ? { identify: { granularity: response.identify.granularity } } : {}),
    };
  } catch (error) {
    if (!(error instanceof OaiProtocolError)) throw error;
    if (!/<\/([A-Za-z_][\w.-]*:)?OAI-PMH>\s*$/.test(body)) return undefined;
  }
  const lenient = parseLidoDocument(body);
  if (!lenient.oai) return undefined;
  const items: PageItem[] = [
    ...lenient.records.map((entry): PageItem => {
      const record = entry.record;
      const header: OaiHeader = { identifier: record.oaiIdentifier ?? record.recordId, datestamp: record.datestamp ?? '', setSpecs: record.setSpecs, deleted: record.deleted === true };
      return record.deleted || entry.xml === undefined ? { kind: 'deleted', header } : { kind: 'record', header, record, xml: entry.xml };
    }),
    ...lenient.skipped.map((entry): PageItem => ({ kind: 'skipped', ...entry })),
  ];
  return {
    errors: lenient.oai.errors,
    items,
    headers: lenient.oai.headers,
    unidentified: 0,
    ...(lenient.oai.resumptionToken ? { token: lenient.oai.resumptionToken } : {}),
  };
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports the socket's fault as the cause ("other side closed").
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/**
 * Harvest Lambda: an EventBridge schedule or an on-demand invoke runs one harvest invocation ({@link runHarvest}):
 * it continues an unfinished run from its checkpoint, else harvests incrementally (or fully, the first time), and
 * stops cleanly before the Lambda's time runs out; the next invocation resumes. `{ "reconcile": true }` (as the
 * event, or as an EventBridge rule's constant input / `detail`) runs the ListIdentifiers reconciliation instead,
 * which a weekly schedule should do (the Datahub keeps no tombstones). `{ "mode": "full" }` forces a full harvest.
 *
 * Settings (validated at cold start):
 *   OAI_BASE_URL             the repository's OAI-PMH endpoint (required), e.g. https://datahub.vlaamsekunstcollectie.be/oai
 *   OAI_METADATA_PREFIX      default oai_lido
 *   OAI_SET                  optional set spec (note: the Datahub ignores it on incremental requests; other sets'
 *                            records are then recognised by their setSpecs and left out)
 *   HARVEST_SOURCE           source id; default the URL and set (`https://datahub.vlaamsekunstcollectie.be/oai`)
 *   HARVEST_OVERLAP_SECONDS  default 86400: see DEFAULT_OVERLAP_SECONDS
 *   RIGHTS_CSV_URL, COPYRIGHTS_CSV_URL  optional VKC authority files (RIGHTS.csv, Copyrights.csv), read once per container
 *   TABLE_NAME               the metadata table
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { parseRightsAuthority, type RightsAuthority } from '../core/rights.ts';
import { parseAccessSettings } from '../core/access-policy.ts';
import { AccessReview } from '../access/review.ts';
import { queueRepublisher } from '../access/handler.ts';
import { ConfigError } from '../core/settings.ts';
import { createDocumentClient } from '../store/clients.ts';
import type { HarvestStateStore, RecordStore } from '../store/records.ts';
import { createStores } from '../store/stores.ts';
import {
  DEFAULT_OVERLAP_SECONDS,
  defaultSourceId,
  reconcile,
  runHarvest,
  type Fetch,
  type HarvestMode,
  type HarvestReport,
  type ReconcileReport,
} from './harvest.ts';

export interface HarvestSettings {
  baseUrl: string;
  metadataPrefix: string;
  set?: string;
  source: string;
  overlapSeconds: number;
  tableName: string;
  rightsCsvUrl?: string;
  copyrightsCsvUrl?: string;
}

type Env = Record<string, string | undefined>;

export function parseHarvestSettings(env: Env): HarvestSettings {
  const problems: string[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;
  const baseUrl = value('OAI_BASE_URL') ?? '';
  if (!baseUrl) problems.push('OAI_BASE_URL is required');
  else if (!/^https?:\/\/[^/?#\s]+/.test(baseUrl)) problems.push(`OAI_BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  const tableName = value('TABLE_NAME') ?? '';
  if (!tableName) problems.push('TABLE_NAME is required');
  const overlapRaw = value('HARVEST_OVERLAP_SECONDS');
  const overlapSeconds = overlapRaw === undefined ? DEFAULT_OVERLAP_SECONDS : Number(overlapRaw);
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > 30 * 86_400) {
    problems.push(`HARVEST_OVERLAP_SECONDS must be an integer between 0 and 2592000, got "${overlapRaw}"`);
  }
  const rightsCsvUrl = value('RIGHTS_CSV_URL');
  const copyrightsCsvUrl = value('COPYRIGHTS_CSV_URL');
  if ((rightsCsvUrl === undefined) !== (copyrightsCsvUrl === undefined)) problems.push('RIGHTS_CSV_URL and COPYRIGHTS_CSV_URL go together');
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  const set = value('OAI_SET');
  return {
    baseUrl,
    metadataPrefix: value('OAI_METADATA_PREFIX') ?? 'oai_lido',
    ...(set ? { set } : {}),
    source: value('HARVEST_SOURCE') ?? defaultSourceId(baseUrl, set),
    overlapSeconds,
    tableName,
    ...(rightsCsvUrl && copyrightsCsvUrl ? { rightsCsvUrl, copyrightsCsvUrl } : {}),
  };
}

/** What an invocation asks for: the event itself, or an EventBridge event's `detail`. */
export interface HarvestRequest {
  mode?: HarvestMode;
  reconcile?: boolean;
  /** Reconcile even when it would delete more than the safety share of the records. */
  force?: boolean;
}

export function harvestRequest(event: unknown): HarvestRequest {
  const fields = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
  const merged = { ...fields(fields(event).detail), ...fields(event) };
  const mode = merged.mode;
  return {
    ...(mode === 'auto' || mode === 'full' || mode === 'incremental' ? { mode } : {}),
    ...(merged.reconcile === true ? { reconcile: true } : {}),
    ...(merged.force === true ? { force: true } : {}),
  };
}

export interface HarvestHandlerOptions {
  settings: HarvestSettings;
  records: RecordStore;
  state: HarvestStateStore;
  fetch?: Fetch;
  logger?: Logger;
}

export function createHarvestHandler({ settings, records, state, fetch: fetcher = fetch, logger = new Logger({ serviceName: 'imagehub-harvest' }) }: HarvestHandlerOptions) {
  let authority: Promise<RightsAuthority | undefined> | undefined;
  const loadAuthority = async (): Promise<RightsAuthority | undefined> => {
    if (!settings.rightsCsvUrl || !settings.copyrightsCsvUrl) return undefined;
    const text = async (url: string) => {
      const response = await fetcher(url, { signal: AbortSignal.timeout(60_000), headers: {} });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return response.text();
    };
    return parseRightsAuthority(await text(settings.rightsCsvUrl), await text(settings.copyrightsCsvUrl));
  };

  return middy(async (event: unknown, context: Context): Promise<HarvestReport | ReconcileReport> => {
    const wanted = harvestRequest(event);
    authority ??= loadAuthority().catch((error: unknown) => {
      // Rights from the records alone are still right; only the fallback is missing. Tried again next invocation.
      logger.warn('authority files could not be read', { error: error instanceof Error ? error.message : String(error) });
      authority = undefined;
      return undefined;
    });
    const common = {
      fetch: fetcher,
      records,
      source: settings.source,
      baseUrl: settings.baseUrl,
      metadataPrefix: settings.metadataPrefix,
      ...(settings.set ? { set: settings.set } : {}),
      deadline: Date.now() + context.getRemainingTimeInMillis(),
      log: (message: string, details?: Record<string, unknown>) => logger.info(message, details ?? {}),
    };
    const rights = await authority;
    if (wanted.reconcile) {
      const report = await reconcile({ ...common, state, ...(rights ? { authority: rights } : {}), ...(wanted.force ? { force: true } : {}) });
      // Refused deletions and faults need a person (the report is also in the state item's lastReconcile).
      if (!report.complete) throw new Error(`reconciliation incomplete: ${report.stoppedBecause}`);
      return report;
    }
    const report = await runHarvest({ ...common, state, mode: wanted.mode ?? 'auto', overlapSeconds: settings.overlapSeconds, ...(rights ? { authority: rights } : {}) });
    logger.info('harvest invocation', { ...report, skippedRecords: report.skippedRecords.slice(0, 20) });
    // Out of time is normal for a long full harvest (the next invocation resumes); a fault is an error to alarm on.
    if (!report.complete && !report.stoppedBecause?.startsWith('deadline')) throw new Error(`harvest stopped: ${report.stoppedBecause}`);
    return report;
  }).use(injectLambdaContext(logger));
}

let cached: ReturnType<typeof createHarvestHandler> | undefined;

/** The deployed entry point: dependencies built once per container from the environment. */
export const handler = (event: unknown, context: Context): Promise<HarvestReport | ReconcileReport> => {
  if (!cached) {
    const settings = parseHarvestSettings(process.env);
    const logger = new Logger({ serviceName: 'imagehub-harvest' });
    // A changed record may change its images' access (rights, public-domain year): reviewed at once when the ingest
    // queue is known, else by the daily access review.
    const queueUrl = process.env.IMAGEHUB_INGEST_QUEUE_URL?.trim();
    let review: AccessReview | undefined;
    const warn = (message: string, details: Record<string, unknown>) => logger.warn(message, details);
    const stores = createStores(createDocumentClient(), settings.tableName, warn, {
      afterRecordChange: async (change) => void (await review?.reviewRecord(change.recordId)),
    });
    if (queueUrl) {
      review = new AccessReview({
        records: stores.records,
        images: stores.images,
        settings: parseAccessSettings(process.env),
        republish: queueRepublisher(queueUrl),
        log: (message, details) => logger.info(message, details),
      });
    }
    cached = createHarvestHandler({ settings, records: stores.records, state: stores.harvestState, logger });
  }
  return cached(event, context);
};

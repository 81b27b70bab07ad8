/**
 * The web app's JSON API under `/api/`, local only (`npm start`; production has no such API): institutions, a page of
 * an institution's objects, search, one object, recent ingest activity, upload into the ingest bucket and an image's
 * status. The functions returning plain data are shared with the HTML pages (pages.ts). Bad input is a 400 with the
 * reason, never a 500.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { accessFlagsFromMetadata } from '../../core/access-policy.ts';
import { identifierForKey, isIdentifier } from '../../core/identifier.ts';
import { repositoryUrlOf } from '../../core/mirror.ts';
import {
  buildMetadata,
  creatorText,
  encodePathSegment,
  imageService2Url,
  imageService3Url,
  manifestUrl,
  parseObjectId,
  pickValue,
  thumbnailFor,
} from '../../core/presentation.ts';
import type { LanguageMap } from '../../core/record.ts';
import { keysOfLetter, type DeadLetter } from '../../store/dead-letters.ts';
import type { ImageItems } from '../../store/image-items.ts';
import type { ObjectStore } from '../../store/object-store.ts';
import type { ObjectSummaries, ObjectSummary } from '../../store/objects.ts';
import type { RecordStore } from '../../store/records.ts';
import { encodeKeyLikeS3 } from '../local-queue.ts';
import { describeHarvestState } from '../../core/mirror.ts';
import type { HarvestStateStore } from '../../store/records.ts';

export interface WebDeps {
  objects: ObjectSummaries;
  records: RecordStore;
  images: ImageItems;
  /** The ingest bucket. */
  ingest: ObjectStore;
  /** Base of the IIIF URLs (manifests, info.json, thumbnails). */
  publicUrl: string;
  /** Sends an S3 notification to the local queue when the store sends none itself (an external S3 endpoint). */
  notify?: (message: string) => void;
  /** metadataPrefix of GetRecord links (the harvest's). */
  metadataPrefix?: string;
  /** Harvest states, for the activity page. */
  harvestState?: HarvestStateStore;
  /** Review every image's access now (what the daily schedule does; the CLI asks after loading records). */
  reviewAccess?: () => Promise<{ reviewed: number; republished: unknown[] }>;
  /** The ingest queue's dead letters (`imagehub redrive` lists and replays them). */
  deadLetters?: { list(): DeadLetter[]; redrive(): DeadLetter[] };
}

export class BadRequest extends Error {}
export class NotFound extends Error {}

export const PAGE_SIZE = 60;
export const MAX_SEARCH_RESULTS = 100;
const MAX_ACTIVITY = 200;
/** Object keys longer than S3 allows (1024 bytes) can never be uploaded. */
const MAX_KEY_BYTES = 1024;
/** Longest folder or file name in an uploaded key (a file-system name with a suffix: see `upload`). */
const MAX_SEGMENT_BYTES = 200;

const LANGUAGES = ['en', 'nl', 'none'];
const text = (map: LanguageMap | undefined, fallback = ''): string => (map ? (pickValue(map, LANGUAGES) ?? fallback) : fallback);

export interface InstitutionView {
  institutionKey: string;
  label: string;
  homepage?: string;
  objects: number;
}

export interface ObjectCard {
  objectId: string;
  label: string;
  institutionKey: string;
  institution: string;
  images: number;
  thumbnail?: string;
  manifest: string;
  page: string;
}

export async function institutions(deps: WebDeps): Promise<InstitutionView[]> {
  const found = await deps.objects.institutions();
  return Promise.all(found.map(async (entry) => ({
    institutionKey: entry.institutionKey,
    label: text(entry.label, entry.institutionKey),
    ...(entry.homepage ? { homepage: entry.homepage } : {}),
    // Reads the index keys only: cheap for the collections one machine holds.
    objects: (await deps.objects.pageStarts(entry.institutionKey, 1000)).total,
  })));
}

export function card(deps: WebDeps, summary: ObjectSummary): ObjectCard {
  return {
    objectId: summary.objectId,
    label: text(summary.label, summary.objectId),
    institutionKey: summary.institutionKey,
    institution: text(summary.institutionLabel, summary.institutionKey),
    images: summary.images,
    ...(summary.thumbnail ? { thumbnail: thumbnailFor(deps.publicUrl, summary.thumbnail).id } : {}),
    manifest: manifestUrl(deps.publicUrl, 3, summary.objectId),
    page: `/object/${encodePathSegment(summary.objectId)}`,
  };
}

/** One page of an institution's objects from `from` (inclusive), and the first object id of the next page. */
export async function objectPage(deps: WebDeps, institutionKey: string, from?: string): Promise<{ objects: ObjectCard[]; next?: string }> {
  if (!institutionKey || institutionKey.length > 300) throw new BadRequest('give an institution key, e.g. ?institution=mskgent.be');
  // Bytes too: `from` is a sort key, which DynamoDB refuses (a 500) past 1024 bytes, and 300 characters can be 1200.
  if (from !== undefined && (from.length === 0 || from.length > 300 || Buffer.byteLength(from) > 1024)) throw new BadRequest('"from" must be an object id');
  const found = await deps.objects.listCollection(institutionKey, { ...(from ? { from } : {}), limit: PAGE_SIZE + 1 });
  const next = found.length > PAGE_SIZE ? found[PAGE_SIZE]!.objectId : undefined;
  return { objects: found.slice(0, PAGE_SIZE).map((summary) => card(deps, summary)), ...(next ? { next } : {}) };
}

/**
 * Objects whose title, creator, object number or id contain every word of `query` (case and accents ignored).
 * On one machine a scan over every listed object summary and its record is fine; a deployment with a large mirror
 * would need a search index instead. At most {@link MAX_SEARCH_RESULTS}.
 */
export async function search(deps: WebDeps, query: string): Promise<ObjectCard[]> {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new BadRequest('give something to search for, e.g. ?q=navez');
  if (query.length > 200) throw new BadRequest('the search text is longer than 200 characters');
  const matches = (haystack: string) => words.every((word) => haystack.includes(word));
  const results: ObjectCard[] = [];
  for (const institution of await deps.objects.institutions()) {
    let from: string | undefined;
    for (;;) {
      const page = await deps.objects.listCollection(institution.institutionKey, { ...(from ? { from } : {}), limit: 501 });
      for (const summary of page.slice(0, 500)) {
        const cheap = fold([summary.objectId, ...Object.values(summary.label).flat()].join(' '));
        let hit = matches(cheap);
        if (!hit) {
          const record = (await deps.records.get(summary.recordId))?.record;
          if (record) {
            hit = matches(fold([
              cheap,
              record.objectNumber ?? '',
              ...Object.values(record.titles).flat(),
              ...record.alternativeTitles,
              ...record.creators.flatMap((creator) => [creator.name, ...creator.altNames]),
            ].join(' ')));
          }
        }
        if (hit) results.push(card(deps, summary));
        if (results.length >= MAX_SEARCH_RESULTS) return results;
      }
      if (page.length <= 500) break;
      from = page[500]!.objectId;
    }
  }
  return results;
}

function fold(value: string): string {
  return value.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

export interface ObjectView extends ObjectCard {
  recordId: string;
  objectNumber?: string;
  creators: string[];
  metadata: { label: string; value: string }[];
  images: number;
  imageList: { identifier: string; width: number; height: number; info3: string; info2: string; thumbnail: string }[];
  manifestV2: string;
  /** The OAI-PMH GetRecord URL, when the record was harvested from a repository. */
  lido?: string;
  /** The LIDO XML as the mirror keeps it, served here. */
  lidoXml?: string;
}

export async function objectView(deps: WebDeps, objectId: string): Promise<ObjectView> {
  if (!parseObjectId(objectId)) throw new BadRequest(`"${objectId}" is not an object id: object ids are {institution}:{object number}, e.g. mskgent.be:1829-A`);
  const parts = await deps.objects.parts(objectId);
  if (!parts) throw new NotFound(`no object ${objectId}: no active record with that institution and object number`);
  const { record, images } = parts;
  const summary = (await deps.objects.get(objectId)) ?? undefined;
  const base = card(deps, summary ?? {
    objectId,
    institutionKey: parseObjectId(objectId)!.institution,
    recordId: record.recordId,
    label: record.record.titles,
    institutionLabel: record.record.institution?.label ?? {},
    images: images.length,
    modified: record.updatedAt,
    listed: images.length > 0,
  });
  const repository = repositoryUrlOf(record.source);
  const query = new URLSearchParams({ verb: 'GetRecord', metadataPrefix: deps.metadataPrefix ?? 'oai_lido', identifier: record.record.oaiIdentifier ?? record.recordId });
  return {
    ...base,
    images: images.length,
    recordId: record.recordId,
    ...(record.record.objectNumber ? { objectNumber: record.record.objectNumber } : {}),
    creators: record.record.creators.map(creatorText),
    metadata: buildMetadata(record.record).map((entry) => ({ label: text(entry.label), value: Object.values(entry.value).flat().join('; ') })),
    imageList: images.map((image) => ({
      identifier: image.identifier,
      width: image.published!.width,
      height: image.published!.height,
      info3: `${imageService3Url(deps.publicUrl, image.identifier, image.published!.revision)}/info.json`,
      info2: `${imageService2Url(deps.publicUrl, image.identifier, image.published!.revision)}/info.json`,
      thumbnail: thumbnailFor(deps.publicUrl, { identifier: image.identifier, published: image.published! }).id,
    })),
    manifestV2: manifestUrl(deps.publicUrl, 2, objectId),
    ...(repository ? { lido: `${repository}?${query.toString()}` } : {}),
    ...(record.rawXmlBytes && !record.rawXmlTooLarge ? { lidoXml: `/api/objects/${encodePathSegment(objectId)}/lido.xml` } : {}),
  };
}

export interface ActivityEntry {
  at: string;
  status: string;
  sourceKey: string;
  identifier?: string;
  reason?: string;
}

export interface HarvestEntry {
  source: string;
  at: string;
  status: string;
  summary: string;
}

/** Harvest sources by their latest activity: what runs or last ran, and how it went. */
export async function harvests(deps: WebDeps, limit = 20): Promise<HarvestEntry[]> {
  if (!deps.harvestState) return [];
  return (await deps.harvestState.recent(Math.min(Math.max(1, limit), MAX_ACTIVITY))).map((state) => ({ source: state.source, at: state.activityAt, ...describeHarvestState(state) }));
}

export async function activity(deps: WebDeps, limit = 50): Promise<ActivityEntry[]> {
  const found = await deps.images.recentActivity(Math.min(Math.max(1, limit), MAX_ACTIVITY));
  return found.map((entry) => ('at' in entry
    ? { at: entry.at, status: 'refused', sourceKey: entry.sourceKey, reason: entry.reason, ...(entry.identifier ? { identifier: entry.identifier } : {}) }
    : {
        at: entry.updatedAt,
        status: entry.status,
        sourceKey: entry.sourceKey,
        identifier: entry.identifier,
        ...(entry.status === 'failed' && entry.reason ? { reason: entry.reason } : {}),
      }));
}

/** The status of an image for an uploader: `queued` while the item predates `since` (the upload's time). */
export async function imageStatus(deps: WebDeps, identifier: string, since?: string, key?: string): Promise<Record<string, unknown>> {
  if (!isIdentifier(identifier)) throw new BadRequest(`"${identifier}" is not an image identifier`);
  // The key names a refusal item (`REFUSAL#{key}`): past S3's limit it cannot exist, and DynamoDB would refuse it.
  if (key && Buffer.byteLength(key) > MAX_KEY_BYTES) throw new BadRequest(`the key is longer than ${MAX_KEY_BYTES} bytes`);
  const item = await deps.images.get(identifier, { consistent: true });
  if (key) {
    const refusal = await deps.images.getRefusal(key);
    if (refusal && (!since || refusal.at >= since)) return { identifier, status: 'failed', reason: refusal.reason };
  }
  if (!item || (since && item.updatedAt < since)) return { identifier, status: 'queued' };
  return {
    identifier,
    status: item.status,
    ...(item.reason && item.status === 'failed' ? { reason: item.reason } : {}),
    ...(item.published ? { info: `${imageService3Url(deps.publicUrl, identifier, item.published.revision)}/info.json` } : {}),
    updatedAt: item.updatedAt,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** Answers a request under `/api/`. */
export async function answerApi(req: IncomingMessage, res: ServerResponse, url: URL, deps: WebDeps): Promise<void> {
  try {
    const path = url.pathname.slice('/api/'.length);
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    const q = url.searchParams;
    if (path.startsWith('upload/')) {
      if (method !== 'PUT') return methodNotAllowed(res, 'PUT');
      return json(res, 202, await upload(req, deps, decode(path.slice('upload/'.length)), url.searchParams.get('access') ?? undefined));
    }
    if (path === 'access/review') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      if (!deps.reviewAccess) throw new NotFound('this imagehub has no access review');
      return json(res, 200, await deps.reviewAccess());
    }
    if (path === 'dead-letters/redrive') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      if (!deps.deadLetters) throw new NotFound('this imagehub has no dead-letter queue');
      return json(res, 200, { redriven: deps.deadLetters.redrive().map(describeLetter) });
    }
    if (!get) return methodNotAllowed(res, 'GET, HEAD');
    if (path === 'dead-letters') {
      if (!deps.deadLetters) throw new NotFound('this imagehub has no dead-letter queue');
      return json(res, 200, { deadLetters: deps.deadLetters.list().map(describeLetter) });
    }
    if (path === 'institutions') return json(res, 200, await institutions(deps));
    if (path === 'objects') return json(res, 200, await objectPage(deps, q.get('institution') ?? '', q.get('from') ?? undefined));
    if (path === 'search') return json(res, 200, await search(deps, q.get('q') ?? ''));
    if (path === 'activity') return json(res, 200, await activity(deps, Number(q.get('limit') ?? 50) || 50));
    if (path === 'harvests') return json(res, 200, await harvests(deps));
    let match: RegExpExecArray | null;
    if ((match = /^objects\/([^/]+)\/lido\.xml$/.exec(path))) return await lidoXml(res, deps, decode(match[1]!));
    if ((match = /^objects\/([^/]+)$/.exec(path))) return json(res, 200, await objectView(deps, decode(match[1]!)));
    if ((match = /^images\/([^/]+)$/.exec(path))) {
      return json(res, 200, await imageStatus(deps, decode(match[1]!), q.get('since') ?? undefined, q.get('key') ?? undefined));
    }
    throw new NotFound(`no API at ${url.pathname} (see /api/institutions, /api/objects, /api/search, /api/activity)`);
  } catch (error) {
    if (error instanceof BadRequest) return json(res, 400, { error: error.message });
    if (error instanceof NotFound) return json(res, 404, { error: error.message });
    throw error;
  }
}

/** A dead letter as the CLI shows it: which uploads, why, when. */
function describeLetter(letter: DeadLetter): DeadLetter & { keys: string[] } {
  return { ...letter, keys: keysOfLetter(letter.body) };
}

export function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new BadRequest(`malformed percent-encoding in "${value.slice(0, 100)}"`);
  }
}

async function lidoXml(res: ServerResponse, deps: WebDeps, objectId: string): Promise<void> {
  const view = await objectView(deps, objectId);
  const xml = await deps.records.rawXml(view.recordId);
  if (!xml) throw new NotFound(`the mirror keeps no LIDO XML of ${objectId}`);
  res.writeHead(200, { 'Content-Type': 'application/xml; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(xml)) }).end(xml);
}

/**
 * Streams the body into the ingest bucket under `key` (through a temporary file: S3 wants the length up front and
 * the body may be large), as an upload to S3 would; the ingest then runs as for any upload.
 */
async function upload(req: IncomingMessage, deps: WebDeps, key: string, access?: string): Promise<Record<string, unknown>> {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new BadRequest(`the key is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith('/')) throw new BadRequest(`the key "${key}" starts with "/"`);
  // The web app is local only, and the local S3 stand-in stores each key segment as a file name (the last one with
  // `._S3rver_metadata.json` appended), which the file system caps at 255 bytes: a 503 from storage otherwise. No
  // institution folder or file name comes near the bound.
  const long = key.split('/').find((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
  if (long !== undefined) {
    req.resume();
    throw new BadRequest(`the key segment "${long.slice(0, 100)}…" is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  // S3 stores keys with control characters, but XML 1.0 cannot carry them in listings and the file-system stand-in
  // cannot name them (a NUL made it fail): refused here with a reason rather than failing in storage.
  if (/\p{Cc}/u.test(key)) {
    req.resume();
    throw new BadRequest(`the key ${JSON.stringify(key)} contains control characters`);
  }
  const result = identifierForKey(key);
  if (result.kind !== 'identifier') {
    req.resume();
    throw new BadRequest(`"${key}" cannot become an image: ${result.reason}`);
  }
  if (access !== undefined) {
    const { problems } = accessFlagsFromMetadata({ access });
    if (problems.length > 0) {
      req.resume();
      throw new BadRequest(`access: ${problems.join('; ')}`);
    }
  }
  const at = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), 'imagehub-upload-'));
  try {
    const file = join(dir, 'body');
    await pipeline(req, createWriteStream(file));
    const { size } = await stat(file);
    if (size === 0) throw new BadRequest(`"${key}" is empty: send the image's bytes as the request body`);
    const type = req.headers['content-type'];
    await deps.ingest.putFile(key, file, {
      contentType: type && /^image\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream',
      ...(access !== undefined ? { metadata: { access } } : {}),
    });
    deps.notify?.(JSON.stringify({
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: deps.ingest.bucket }, object: { key: encodeKeyLikeS3(key), size } } }],
    }));
    return {
      key,
      identifier: result.identifier,
      size,
      uploadedAt: at,
      status: `/api/images/${encodeURIComponent(result.identifier)}?since=${encodeURIComponent(at)}&key=${encodeURIComponent(key)}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(payload)) }).end(payload);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { Allow: allow, 'Content-Type': 'application/json; charset=utf-8' }).end(`${JSON.stringify({ error: `use ${allow}` })}\n`);
}

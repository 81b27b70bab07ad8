/**
 * One Presentation API request, answered from the mirror: the Lambda handler and the one-machine router both call
 * this. The documents themselves are built by the pure core (functions/core/presentation*.ts).
 *
 *   GET /iiif/presentation/{3|2}/{objectId}/manifest.json           an object's manifest
 *   GET /iiif/presentation/{3|2}/collection/top.json                every institution's collection
 *   GET /iiif/presentation/{3|2}/collection/{institution}.json      its manifests, or its pages when large
 *   GET /iiif/presentation/{3|2}/collection/{institution}/{first objectId}.json   one page
 *   GET /iiif/presentation/{3|2}/lookup?objectNumber=…&institution=… | dataPid=… | workPid=… | recordId=…
 *                                                                   303 to the object's manifest
 *
 * Freshness: manifests are built per request from the table, so the origin is always current; answers carry
 * `Cache-Control: public, max-age=0, s-maxage=10` and a strong ETag of their bytes, so CloudFront keeps a copy
 * for at most 10 s and then revalidates it (a 304 when nothing changed), and browsers revalidate every time.
 * A new image or record is visible through the CDN within seconds, without invalidations (which are billed per
 * path and would run into thousands for one harvest).
 *
 * An object with a record but no ready image answers 404 with that reason: a Presentation 3 manifest without
 * canvases is invalid, and viewers cannot show one.
 */
import { createHash } from 'node:crypto';
import { CORS_HEADERS, FORWARDED_HOST } from '../core/http-headers.ts';
import {
  buildCollectionPage,
  buildInstitutionCollection,
  buildManifest,
  buildTopCollection,
  COLLECTION_PAGE_SIZE,
  manifestUrl,
  objectIdFor,
  parseObjectId,
  type CollectionManifest,
  type ManifestInput,
  type RelatedManifest,
} from '../core/presentation.ts';
import { buildCollectionPageV2, buildInstitutionCollectionV2, buildManifestV2, buildTopCollectionV2 } from '../core/presentation-v2.ts';
import type { MappedRecord } from '../core/record.ts';
import { repositoryUrlOf } from '../core/mirror.ts';
import { summarise, type ObjectParts, type ObjectSummaries, type ObjectSummary } from '../store/objects.ts';
import type { MirroredRecord, RecordStore } from '../store/records.ts';

export interface PresentationDeps {
  objects: Pick<ObjectSummaries, 'parts' | 'get' | 'write' | 'listCollection' | 'pageStarts' | 'institutions' | 'institution'>;
  records: Pick<RecordStore, 'get' | 'findByDataPid' | 'findByWorkPid' | 'findByObjectNumber'>;
  /** The public base URL; empty: from the viewer's host the CDN forwards. */
  publicUrl: string;
  /** metadataPrefix of GetRecord links (the harvest's). */
  metadataPrefix?: string;
  pageSize?: number;
}

export interface PresentationRequest {
  method: string;
  /** Raw (percent-encoded) path. */
  path: string;
  query?: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
}

export interface PresentationAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export const PRESENTATION_PREFIX = '/iiif/presentation/';
const MEDIA_TYPE = {
  3: 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
  2: 'application/ld+json;profile="http://iiif.io/api/presentation/2/context.json"',
} as const;
export const CACHE_PRESENTATION = 'public, max-age=0, s-maxage=10';
/** Related works linked per manifest at most (each costs a read). */
const MAX_RELATED = 24;
/**
 * Longest lookup value, institution key or page start read from a request, in UTF-8 bytes. DynamoDB refuses a
 * key over 2048 bytes (partition) or 1024 bytes (sort) with a ValidationException, which would surface as a 500
 * for what is a client's mistake; no record id, PID, object number or institution comes near this.
 */
const MAX_KEY_VALUE_BYTES = 512;

function tooLong(value: string): boolean {
  return Buffer.byteLength(value, 'utf8') > MAX_KEY_VALUE_BYTES;
}

class NotFound extends Error {}
class BadRequest extends Error {}

export async function answerPresentationRequest(request: PresentationRequest, deps: PresentationDeps): Promise<PresentationAnswer> {
  if (request.method === 'OPTIONS') return { status: 204, headers: { ...CORS_HEADERS, 'access-control-max-age': '86400' } };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return plain(405, `method ${request.method} is not allowed: the Presentation API is read-only (GET, HEAD, OPTIONS)`, { allow: 'GET, HEAD, OPTIONS' });
  }
  try {
    const answer = await route(request, deps);
    return request.method === 'HEAD' ? { ...answer, body: undefined } : answer;
  } catch (error) {
    if (error instanceof NotFound) return plain(404, error.message);
    if (error instanceof BadRequest) return plain(400, error.message);
    throw error;
  }
}

async function route(request: PresentationRequest, deps: PresentationDeps): Promise<PresentationAnswer> {
  let path: string;
  try {
    path = decodeURIComponent(request.path);
  } catch {
    throw new BadRequest(`the path ${request.path} is not valid percent-encoding`);
  }
  const baseUrl = publicBaseUrl(request, deps.publicUrl);
  const match = /^\/iiif\/presentation\/([23])\/(.+)$/.exec(path);
  if (!match) throw new NotFound(`not found: ${path} (manifests are at /iiif/presentation/3/{institution}:{object number}/manifest.json)`);
  const version = Number(match[1]) as 2 | 3;
  const rest = match[2]!;

  let manifest: RegExpExecArray | null;
  if ((manifest = /^([^/]+)\/manifest(?:\.json)?$/.exec(rest))) return answerManifest(request, deps, baseUrl, version, manifest[1]!);
  if (rest === 'collection/top.json' || rest === 'collection/top') return answerTopCollection(request, deps, baseUrl, version);
  let collection: RegExpExecArray | null;
  if ((collection = /^collection\/([^/]+?)(?:\.json)?$/.exec(rest))) return answerInstitution(request, deps, baseUrl, version, collection[1]!);
  if ((collection = /^collection\/([^/]+)\/([^/]+?)(?:\.json)?$/.exec(rest))) return answerPage(request, deps, baseUrl, version, collection[1]!, collection[2]!);
  if (rest === 'lookup') return answerLookup(request, deps, baseUrl, version);
  if (/^[^/]+\/(canvas|sequence)\//.test(rest)) throw new NotFound(`${path}: canvases are embedded in their manifest (${rest.split('/')[0]}/manifest.json), not served on their own`);
  throw new NotFound(`not found: ${path}`);
}

// -------------------------------------------------------------------------------------------------------------
// Manifests

async function answerManifest(request: PresentationRequest, deps: PresentationDeps, baseUrl: string, version: 2 | 3, objectId: string): Promise<PresentationAnswer> {
  const id = parseObjectId(objectId);
  if (!id) throw new BadRequest(`"${objectId}" is not an object id: object ids are {institution}:{object number}, e.g. mskgent.be:1829-A`);
  const parts = await deps.objects.parts(objectId);
  if (!parts) {
    throw new NotFound(`no object ${objectId}: the mirror holds no active record of ${id.institution} with object number ${id.objectNumber} (find objects by PID or object number at /iiif/presentation/3/lookup)`);
  }
  if (parts.images.length === 0) {
    await repairSummary(deps, objectId, parts);
    if (parts.withheld > 0) {
      throw new NotFound(`object ${objectId} has no image cleared for public use, and a manifest needs at least one image`);
    }
    throw new NotFound(`object ${objectId} has a record but no image is ready yet, and a manifest needs at least one image; it appears as soon as an image of it is ingested`);
  }
  // Independent reads, in parallel.
  const [, related] = await Promise.all([repairSummary(deps, objectId, parts), relatedManifests(deps, parts.record.record, objectId)]);
  const input: ManifestInput = {
    baseUrl,
    objectId,
    record: parts.record.record,
    ...(parts.record.rights ? { rights: parts.record.rights } : {}),
    images: parts.images,
    ...seeAlsoOf(parts.record, deps.metadataPrefix ?? 'oai_lido'),
    related,
  };
  const document = version === 3 ? buildManifest(input) : buildManifestV2(input);
  return json(request, version, document, summarise(objectId, parts).modified);
}

/**
 * Read repair: a summary that disagrees with what the manifest was built from (a record and its image that landed
 * within the same second, each refresh missing the other) is rewritten, so the object is listed in its collection.
 */
async function repairSummary(deps: PresentationDeps, objectId: string, parts: ObjectParts): Promise<void> {
  const fresh = summarise(objectId, parts);
  const stored = await deps.objects.get(objectId);
  if (!stored || stored.listed !== fresh.listed || stored.images !== fresh.images || stored.modified < fresh.modified) await deps.objects.write(fresh);
}

function seeAlsoOf(record: MirroredRecord, metadataPrefix: string): Pick<ManifestInput, 'seeAlso'> {
  const repository = repositoryUrlOf(record.source);
  if (!repository) return {};
  const identifier = record.record?.oaiIdentifier ?? record.recordId;
  const query = new URLSearchParams({ verb: 'GetRecord', metadataPrefix, identifier });
  return { seeAlso: { getRecordUrl: `${repository}?${query.toString()}` } };
}

/** Related works that have a manifest here: found by their record id, else their PID. */
async function relatedManifests(deps: PresentationDeps, record: MappedRecord, objectId: string): Promise<RelatedManifest[]> {
  const found: RelatedManifest[] = [];
  for (const work of record.relatedWorks.slice(0, MAX_RELATED)) {
    let related: MirroredRecord | undefined;
    if (work.recordId) related = await deps.records.get(work.recordId);
    if (!related?.record && work.pid) related = await first(deps.records.findByDataPid(work.pid)) ?? await first(deps.records.findByWorkPid(work.pid));
    if (related?.status !== 'active' || !related.record) continue;
    const relatedId = objectIdFor(related.record);
    if (!relatedId || relatedId === objectId || !(await deps.objects.get(relatedId))?.listed) continue;
    found.push({
      relation: work.relation,
      objectId: relatedId,
      ...(work.label ? { label: { none: [work.label] } } : {}),
      ...(work.sortOrder !== undefined ? { sortOrder: work.sortOrder } : {}),
    });
  }
  return found;
}

// -------------------------------------------------------------------------------------------------------------
// Collections

async function answerTopCollection(request: PresentationRequest, deps: PresentationDeps, baseUrl: string, version: 2 | 3): Promise<PresentationAnswer> {
  const institutions = (await deps.objects.institutions()).map((i) => ({ key: i.institutionKey, label: i.label }));
  const input = { baseUrl, institutions };
  return json(request, version, version === 3 ? buildTopCollection(input) : buildTopCollectionV2(input));
}

async function answerInstitution(request: PresentationRequest, deps: PresentationDeps, baseUrl: string, version: 2 | 3, key: string): Promise<PresentationAnswer> {
  if (tooLong(key)) throw new NotFound(`no collection: institution keys are at most ${MAX_KEY_VALUE_BYTES} bytes`);
  const entry = await deps.objects.institution(key);
  if (!entry) throw new NotFound(`no collection ${key}: no object of an institution ${key} has a manifest (see /iiif/presentation/${version}/collection/top.json)`);
  const pageSize = deps.pageSize ?? COLLECTION_PAGE_SIZE;
  const institution = { key, label: entry.label };
  const firstPage = await deps.objects.listCollection(key, { limit: pageSize + 1 });
  let input;
  if (firstPage.length <= pageSize) {
    input = { baseUrl, institution, manifests: firstPage.map(collectionManifest) };
  } else {
    const { starts } = await deps.objects.pageStarts(key, pageSize);
    input = { baseUrl, institution, manifests: [], pages: starts.map((firstObjectId) => ({ firstObjectId })) };
  }
  return json(request, version, version === 3 ? buildInstitutionCollection(input) : buildInstitutionCollectionV2(input));
}

async function answerPage(request: PresentationRequest, deps: PresentationDeps, baseUrl: string, version: 2 | 3, key: string, firstObjectId: string): Promise<PresentationAnswer> {
  if (tooLong(key) || tooLong(firstObjectId)) throw new NotFound(`no such collection page: institution keys and object ids are at most ${MAX_KEY_VALUE_BYTES} bytes`);
  const entry = await deps.objects.institution(key);
  if (!entry) throw new NotFound(`no collection ${key}`);
  // Pages start at an object id; when objects are added, later page starts shift and a page cached under an old
  // start overlaps its neighbour for a while: an object may be listed twice, never lost.
  const manifests = await deps.objects.listCollection(key, { from: firstObjectId, limit: deps.pageSize ?? COLLECTION_PAGE_SIZE });
  if (manifests.length === 0) throw new NotFound(`collection ${key} has no objects from ${firstObjectId} on`);
  const input = { baseUrl, institution: { key, label: entry.label }, firstObjectId, manifests: manifests.map(collectionManifest) };
  return json(request, version, version === 3 ? buildCollectionPage(input) : buildCollectionPageV2(input));
}

function collectionManifest(summary: ObjectSummary): CollectionManifest {
  return { objectId: summary.objectId, label: summary.label, ...(summary.thumbnail ? { thumbnail: summary.thumbnail } : {}) };
}

// -------------------------------------------------------------------------------------------------------------
// Lookup

async function answerLookup(request: PresentationRequest, deps: PresentationDeps, baseUrl: string, version: 2 | 3): Promise<PresentationAnswer> {
  const query = request.query ?? {};
  const long = (['recordId', 'dataPid', 'workPid', 'objectNumber', 'institution'] as const).find((name) => tooLong(query[name] ?? ''));
  if (long) throw new BadRequest(`${long} is longer than ${MAX_KEY_VALUE_BYTES} bytes: no record has such a value`);
  let candidates: MirroredRecord[] = [];
  if (query.recordId) {
    const record = await deps.records.get(query.recordId);
    if (record?.status === 'active') candidates = [record];
  } else if (query.dataPid) candidates = await all(deps.records.findByDataPid(query.dataPid));
  else if (query.workPid) candidates = await all(deps.records.findByWorkPid(query.workPid));
  else if (query.objectNumber && query.institution) candidates = await all(deps.records.findByObjectNumber(query.institution, query.objectNumber));
  else throw new BadRequest('look objects up by recordId, dataPid, workPid, or objectNumber with institution (e.g. ?objectNumber=1829-A&institution=mskgent.be)');
  const objectId = candidates.map((c) => (c.record ? objectIdFor(c.record) : undefined)).find((id) => id !== undefined);
  if (!objectId) throw new NotFound(`no object found for ${new URLSearchParams(query as Record<string, string>).toString()}`);
  return { status: 303, headers: { ...CORS_HEADERS, location: manifestUrl(baseUrl, version, objectId), 'cache-control': CACHE_PRESENTATION }, body: '' };
}

// -------------------------------------------------------------------------------------------------------------
// HTTP

function json(request: PresentationRequest, version: 2 | 3, document: object, modified?: string): PresentationAnswer {
  const body = JSON.stringify(document);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'content-type': MEDIA_TYPE[version],
    'cache-control': CACHE_PRESENTATION,
    etag,
    ...(modified && !Number.isNaN(Date.parse(modified)) ? { 'last-modified': new Date(modified).toUTCString() } : {}),
  };
  const match = request.headers['if-none-match'];
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return { status: 304, headers };
  return { status: 200, headers, body };
}

function plain(status: number, message: string, extra: Record<string, string> = {}): PresentationAnswer {
  return { status, headers: { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, body: `${message}\n` };
}

function publicBaseUrl(request: PresentationRequest, configured: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const host = request.headers[FORWARDED_HOST];
  if (host && /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) return `https://${host}`;
  throw new BadRequest('this endpoint serves requests through the CDN only: use the public IIIF URL');
}

async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

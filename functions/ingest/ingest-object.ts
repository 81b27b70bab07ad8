/**
 * One S3 object event, start to finish. Created: key → identifier → claim → download → decode → pyramid →
 * publish (tiles, sizes, then info.json last) → item ready. Removed: derivatives deleted, item marked deleted.
 *
 * Outcomes a file causes (bad key, bad bytes, identifier clash) are recorded and returned, never thrown: SQS must
 * not retry them. Everything else (S3/DynamoDB faults, timeouts) throws and is retried by SQS.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { identifierForKey, revisionIdentifier } from '../core/identifier.ts';
import type { LinkHints, PublishedPyramid, SourceDescription } from '../core/image-item.ts';
import {
  CACHE_CURRENT_INFO,
  CACHE_IMMUTABLE,
  fullSizeKeyV2,
  infoJsonKey,
  pyramidFileKey,
  revisionPrefixes,
  sizeKeyV2,
} from '../core/derivative-layout.ts';
import { buildInfoJson2, buildInfoJson3, iiifRightsUri, imageServiceId, INFO2_MEDIA_TYPE, INFO3_MEDIA_TYPE, type PyramidDescription } from '../core/info-json.ts';
import type { ObjectEvent } from '../core/s3-events.ts';
import type { IngestSettings } from '../core/settings.ts';
import { MasterRejectedError, openMaster } from '../imaging/master.ts';
import { renderPyramid, type RenderedPyramid } from '../imaging/pyramid.ts';
import type { ImageItems } from '../store/image-items.ts';
import { ObjectStore } from '../store/object-store.ts';
import { eachLimited } from '../core/concurrency.ts';

/** Bumped whenever the pyramid recipe changes, so re-ingesting the same bytes yields a new revision. */
export const RECIPE_VERSION = 3;

export interface IngestDeps {
  s3: S3Client;
  derivatives: ObjectStore;
  items: ImageItems;
  settings: IngestSettings;
  now?: () => Date;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

export type IngestOutcome =
  | { status: 'ready'; identifier: string; revision: string; files: number }
  | { status: 'unchanged'; identifier: string; revision: string }
  | { status: 'failed'; identifier?: string; reason: string }
  | { status: 'deleted'; identifier: string; files: number }
  | { status: 'skipped'; reason: string };

export async function handleObjectEvent(event: ObjectEvent, deps: IngestDeps): Promise<IngestOutcome> {
  return event.kind === 'created' ? ingestCreated(event, deps) : removeDeleted(event, deps);
}

async function ingestCreated(event: ObjectEvent, deps: IngestDeps): Promise<IngestOutcome> {
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const mapped = identifierForKey(event.key);
  if (mapped.kind === 'ignored') return { status: 'skipped', reason: mapped.reason };
  if (mapped.kind === 'refused') {
    await deps.items.refuse({ sourceKey: event.key, reason: mapped.reason, at: now() });
    return { status: 'failed', reason: mapped.reason };
  }
  const { identifier } = mapped;
  const ingest = new ObjectStore(deps.s3, event.bucket);

  // The event may be late: act only on the object as it is now, and only if it is the upload this event announced.
  const head = await ingest.head(event.key);
  if (!head) return { status: 'skipped', reason: 'the object no longer exists' };
  if (event.etag && head.etag && stripQuotes(head.etag) !== stripQuotes(event.etag)) {
    return { status: 'skipped', reason: 'a newer upload replaced this object; its own event will publish it' };
  }
  const attempt = stripQuotes(head.etag ?? event.etag ?? `${head.size}:${head.lastModified?.toISOString()}`);
  const links = linkHints(mapped.hints, head.metadata);

  const claim = await deps.items.claim(identifier, event.key, attempt, links, now());
  if (!claim.claimed) {
    const reason = `identifier "${identifier}" already belongs to "${claim.owner}"; rename the file or delete the other one first`;
    await deps.items.refuse({ sourceKey: event.key, identifier, reason, at: now() });
    return { status: 'failed', identifier, reason };
  }
  await deps.items.clearRefusal(event.key);
  const previous = claim.previous;
  if (previous?.status === 'ready' && previous.published && previous.source?.etag === attempt) {
    // Same bytes already published (a duplicate event, or an upload of an identical file): republish the item.
    await deps.items.publish(identifier, attempt, {
      source: previous.source, published: previous.published, embedded: previous.embedded ?? {}, links, timings: previous.timings ?? {},
    }, now());
    return { status: 'unchanged', identifier, revision: previous.published.revision };
  }

  const workDir = await mkdtemp(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'ingest-'));
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = Math.round(performance.now() - start);
    }
  };
  try {
    const masterPath = join(workDir, 'master');
    const downloaded = await timed('downloadMs', () => ingest.downloadToFile(event.key, masterPath));
    if (!downloaded) return { status: 'skipped', reason: 'the object no longer exists' };

    const { settings } = deps;
    let rendered: RenderedPyramid;
    let master;
    try {
      master = await timed('decodeMs', () => openMaster(masterPath, downloaded.size, { maxInputPixels: settings.maxInputPixels, workDir }));
      rendered = await timed('pyramidMs', () =>
        renderPyramid(master!, workDir, {
          tileSize: settings.tileSize,
          jpegQuality: settings.jpegQuality,
          limits: { maxArea: settings.maxArea },
          maxInputPixels: settings.maxInputPixels,
        }),
      );
    } catch (error) {
      if (!(error instanceof MasterRejectedError)) throw error;
      const reason = error.message;
      await deps.items.fail(identifier, attempt, reason, now(), { key: event.key, size: downloaded.size, checksum: downloaded.sha256 });
      return { status: 'failed', identifier, reason };
    }

    const revision = revisionFor(downloaded.sha256, settings);
    const { embedded } = master;
    const rights = iiifRightsUri(embedded.webStatement);
    const source: SourceDescription = {
      bucket: event.bucket,
      key: event.key,
      size: downloaded.size,
      checksum: downloaded.sha256,
      ...master.description,
      ...(head.etag ? { etag: attempt } : {}),
      ...(head.versionId ? { versionId: head.versionId } : {}),
    };
    if (embedded.dataPid && !links.dataPid) links.dataPid = embedded.dataPid;
    if (embedded.workPid && !links.workPid) links.workPid = embedded.workPid;

    const pyramid: PyramidDescription = {
      width: rendered.width,
      height: rendered.height,
      tileSize: rendered.tileSize,
      scaleFactors: rendered.scaleFactors,
      sizes: rendered.sizes,
      limits: { maxArea: settings.maxArea },
      ...(rights ? { rights } : {}),
    };
    const bytes = await timed('publishMs', () => publishRevision(deps, identifier, revision, rendered, pyramid));
    const published: PublishedPyramid = {
      revision,
      width: rendered.width,
      height: rendered.height,
      tileSize: rendered.tileSize,
      scaleFactors: rendered.scaleFactors,
      sizes: rendered.sizes,
      limits: pyramid.limits,
      maxSize: rendered.maxSize,
      files: bytes.files,
      bytes: bytes.bytes,
      ...(pyramid.rights ? { rights: pyramid.rights } : {}),
    };

    const superseded = previous?.published && previous.published.revision !== revision ? previous.published : previous?.superseded;
    const stillLatest = await deps.items.publish(identifier, attempt, { source, published, ...(superseded ? { superseded } : {}), embedded, links, timings }, now());
    if (!stillLatest) {
      // A newer upload claimed the identifier while this one rendered: withdraw this revision unless it is live.
      const live = (await deps.items.get(identifier))?.published?.revision;
      if (live !== revision) await deleteRevision(deps.derivatives, identifier, revision);
      return { status: 'skipped', reason: 'superseded by a newer upload while processing' };
    }
    // Clients that loaded the previous info.json keep working: its revision stays until the next replacement.
    await pruneRevisions(deps.derivatives, identifier, [revision, superseded?.revision]);
    return { status: 'ready', identifier, revision, files: bytes.files };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Upload a rendered pyramid under its revision, then its info.json documents, then (last) the current info.json:
 * a client can never see an info.json before every file it describes exists.
 */
async function publishRevision(
  deps: IngestDeps,
  identifier: string,
  revision: string,
  rendered: RenderedPyramid,
  pyramid: PyramidDescription,
): Promise<{ files: number; bytes: number }> {
  const { derivatives, settings } = deps;
  const revisionId = revisionIdentifier(identifier, revision);
  const jpeg = { contentType: 'image/jpeg', cacheControl: CACHE_IMMUTABLE };
  const uploads: (() => Promise<void>)[] = rendered.files.map(
    (file) => () => derivatives.putFile(pyramidFileKey(revisionId, file.path), join(rendered.root, file.path), jpeg),
  );
  for (const size of rendered.sizes) {
    const path = `full/${size.width},${size.height}/0/default.jpg`;
    uploads.push(() => derivatives.putFile(sizeKeyV2(revisionId, size), join(rendered.root, path), jpeg));
  }
  if (rendered.maxSize.width === rendered.width && rendered.maxSize.height === rendered.height) {
    // Within the limits 2.1's `full` size is the whole image, which `max` already is: OpenSeadragon asks 2.x
    // services for `full/full` when the image fits one tile. Above the limits `full` has no file (an error).
    uploads.push(() => derivatives.putFile(fullSizeKeyV2(revisionId), join(rendered.root, 'full/max/0/default.jpg'), jpeg));
  }
  await eachLimited(uploads, settings.uploadConcurrency, (upload) => upload());

  const service = { level: 2, upscaling: settings.upscaling } as const;
  const info3 = JSON.stringify(buildInfoJson3(imageServiceId(settings.publicUrl, 3, revisionId), pyramid, service));
  const info2 = JSON.stringify(buildInfoJson2(imageServiceId(settings.publicUrl, 2, revisionId), pyramid, service));
  await Promise.all([
    derivatives.putBody(infoJsonKey(3, revisionId), info3, { contentType: INFO3_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
    derivatives.putBody(infoJsonKey(2, revisionId), info2, { contentType: INFO2_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
  ]);
  await Promise.all([
    derivatives.putBody(infoJsonKey(3, identifier), info3, { contentType: INFO3_MEDIA_TYPE, cacheControl: CACHE_CURRENT_INFO }),
    derivatives.putBody(infoJsonKey(2, identifier), info2, { contentType: INFO2_MEDIA_TYPE, cacheControl: CACHE_CURRENT_INFO }),
  ]);
  const bytes = rendered.files.reduce((sum, f) => sum + f.bytes, 0) + info3.length + info2.length;
  return { files: uploads.length + 4, bytes };
}

async function removeDeleted(event: ObjectEvent, deps: IngestDeps): Promise<IngestOutcome> {
  const mapped = identifierForKey(event.key);
  if (mapped.kind !== 'identifier') {
    await deps.items.clearRefusal(event.key);
    return { status: 'skipped', reason: 'the key never mapped to an image' };
  }
  const { identifier } = mapped;
  const ingest = new ObjectStore(deps.s3, event.bucket);
  if (await ingest.head(event.key)) return { status: 'skipped', reason: 'the object was uploaded again after its removal' };
  await deps.items.clearRefusal(event.key);
  const item = await deps.items.get(identifier);
  if (!item || item.sourceKey !== event.key) return { status: 'skipped', reason: 'no image was published from this key' };
  // Withdraw the entry points first, so no client discovers a pyramid that is being deleted.
  const files =
    (await deps.derivatives.deleteKeys([infoJsonKey(3, identifier), infoJsonKey(2, identifier)])) +
    (await deleteRevision(deps.derivatives, identifier));
  await deps.items.markDeleted(identifier, event.key, (deps.now?.() ?? new Date()).toISOString());
  return { status: 'deleted', identifier, files };
}

async function deleteRevision(store: ObjectStore, identifier: string, revision = ''): Promise<number> {
  let count = 0;
  for (const prefix of revisionPrefixes(identifier, revision)) count += await store.deletePrefix(revision ? `${prefix}/` : prefix);
  return count;
}

/** Delete every stored revision of an identifier except those to keep. */
async function pruneRevisions(store: ObjectStore, identifier: string, keep: (string | undefined)[]): Promise<void> {
  const stale = new Set<string>();
  for (const prefix of revisionPrefixes(identifier)) {
    for await (const key of store.listKeys(prefix)) {
      const revision = key.slice(prefix.length).split('/')[0]!;
      if (!keep.includes(revision)) stale.add(revision);
    }
  }
  for (const revision of stale) await deleteRevision(store, identifier, revision);
}

/** Content-addressed: the same bytes under the same recipe give the same revision, so retries are idempotent. */
export function revisionFor(checksum: string, settings: IngestSettings): string {
  const recipe = [RECIPE_VERSION, settings.tileSize, settings.jpegQuality, settings.maxArea, settings.publicUrl, settings.upscaling].join('|');
  return createHash('sha256').update(`${checksum}|${recipe}`).digest('hex').slice(0, 12);
}

/** Link hints from the key and from S3 user metadata (`object-number`, `data-pid`, `work-pid`, `sort-number`). */
export function linkHints(fromKey: { institution?: string; objectNumber: string }, metadata: Record<string, string>): LinkHints {
  const hints: LinkHints = { ...fromKey };
  if (metadata['object-number']) hints.objectNumber = metadata['object-number'];
  if (metadata.institution) hints.institution = metadata.institution;
  if (metadata['data-pid']) hints.dataPid = metadata['data-pid'];
  if (metadata['work-pid']) hints.workPid = metadata['work-pid'];
  const sort = Number(metadata['sort-number']);
  if (metadata['sort-number'] && Number.isFinite(sort)) hints.sortNumber = sort;
  return hints;
}

const stripQuotes = (etag: string) => etag.replace(/^"|"$/g, '');

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
import { accessFlagsFromMetadata, decideAccess, DEFAULT_ACCESS_SETTINGS, sameAccess, type AccessDecision, type ImageAccessFlags } from '../core/access-policy.ts';
import { infoJsonPlacement, isTightening, needsSubstitute, pyramidFilePlacement, substituteSize, type AccessPlacement } from '../core/access-layout.ts';
import { probeServiceFor } from '../core/auth.ts';
import { identifierForKey, revisionIdentifier, substituteIdentifier } from '../core/identifier.ts';
import type { LinkHints, PublishedPyramid, PublishedSubstitute, SourceDescription } from '../core/image-item.ts';
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
import { renderPyramid, renderSubstitute, type RenderedPyramid } from '../imaging/pyramid.ts';
import type { ImageItems } from '../store/image-items.ts';
import { ObjectStore } from '../store/object-store.ts';
import { eachLimited } from '../core/concurrency.ts';

/** Bumped whenever the pyramid recipe changes, so re-ingesting the same bytes yields a new revision. */
export const RECIPE_VERSION = 3;

export interface IngestDeps {
  s3: S3Client;
  /** The public derivative store, which the CDN serves. */
  derivatives: ObjectStore;
  /**
   * The protected store: what the access policy keeps from the public (full-resolution levels of restricted-size
   * images, everything of private ones). Required as soon as an image is not open.
   */
  protectedDerivatives?: ObjectStore;
  items: ImageItems;
  settings: IngestSettings;
  /** The access decision for an image (functions/access/review.ts looks up its record); default: flags only. */
  decideAccess?: (input: AccessRequest) => Promise<AccessDecision>;
  /** Drop the CDN's copies of these paths (wildcard at the end): used when an image's access is tightened. */
  invalidate?: (paths: string[]) => Promise<void>;
  now?: () => Date;
  /**
   * Aborted when the attempt must stop (the function's time limit is near): checked between stages and before each
   * upload, so an abandoned attempt stops writing rather than racing the next one.
   */
  signal?: AbortSignal;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

/** What the ingest knows of an image when its access is decided. */
export interface AccessRequest {
  identifier: string;
  links: LinkHints;
  flags: ImageAccessFlags;
  width: number;
  height: number;
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
  const { flags, problems } = accessFlagsFromMetadata(head.metadata);
  if (problems.length > 0) {
    // An access flag nobody can read is never guessed at: the image waits for a corrected upload.
    const reason = `access metadata not understood: ${problems.join('; ')}`;
    await deps.items.fail(identifier, attempt, reason, now(), { key: event.key, size: head.size });
    return { status: 'failed', identifier, reason };
  }
  if (Object.keys(flags).length > 0) links.access = flags;
  const decide = (width: number, height: number) =>
    deps.decideAccess?.({ identifier, links, flags, width, height }) ??
    Promise.resolve(decideAccess({ flags, ...(links.institution ? { institution: links.institution } : {}), width, height }, DEFAULT_ACCESS_SETTINGS, deps.now?.() ?? new Date()));
  if (
    previous?.status === 'ready' &&
    previous.published &&
    previous.source?.etag === attempt &&
    sameAccess(previous.published.access, await decide(previous.published.width, previous.published.height))
  ) {
    // Same bytes under the same access already published (a duplicate event, an identical upload): republish the item.
    const stillLatest = await deps.items.publish(identifier, attempt, {
      source: previous.source, published: previous.published, embedded: previous.embedded ?? {}, links, timings: previous.timings ?? {},
    }, now());
    // The stable info.json is written after the item (below): an attempt stopped between the two (a killed
    // function) left it naming an older revision, or missing. Re-pointing it makes the re-delivery finish the job.
    if (stillLatest) await pointStableInfo(deps, identifier, await stableInfoOf(deps, identifier, previous.published));
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
    deps.signal?.throwIfAborted();
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

    deps.signal?.throwIfAborted();
    const access = await decide(rendered.width, rendered.height);
    if (access.policy !== 'open' && !deps.protectedDerivatives) {
      throw new Error('IMAGEHUB_PROTECTED_BUCKET is not configured: an image that is not open cannot be published');
    }
    const revision = revisionFor(downloaded.sha256, settings, access);
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
    let substitute: { rendered: RenderedPyramid; identifier: string } | undefined;
    if (needsSubstitute(access, rendered)) {
      const size = substituteSize(rendered, access.maxLongSide);
      const subRendered = await timed('substituteMs', () =>
        renderSubstitute(rendered, size, master!, workDir, { tileSize: settings.tileSize, jpegQuality: settings.jpegQuality, limits: {}, maxInputPixels: settings.maxInputPixels }),
      );
      substitute = { rendered: subRendered, identifier: substituteIdentifier(identifier, revision, access.maxLongSide) };
    }
    const bytes = await timed('publishMs', () => publishRevision(deps, identifier, revision, rendered, pyramid, access, substitute));
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
      access,
      ...(substitute ? { substitute: describeSubstitute(substitute.identifier, substitute.rendered) } : {}),
    };

    // A tightened policy withdraws what was public at once: the previous revision is not kept for its clients.
    const tightened = previous?.published !== undefined && isTightening(previous.published.access, published.access);
    const superseded = tightened
      ? undefined
      : previous?.published && previous.published.revision !== revision
        ? previous.published
        : previous?.superseded;
    if (tightened) {
      // Withdrawn before the item names the new revision: if the CDN refuses, the retry finds the access still
      // differing and does all of it again, so no cached copy outlives a tightening unnoticed.
      deps.log?.('access tightened: previous revisions withdrawn', { identifier, before: previous?.published?.access?.policy ?? 'open', after: access.policy });
      // The stable documents leave the withdrawn revision first (a private image's leave the public store), so the
      // invalidation below cannot be followed by the CDN caching them again.
      await pointStableInfo(deps, identifier, bytes.stable);
      for (const store of storesOf(deps)) await pruneRevisions(store, identifier, [revision]);
      await deps.invalidate?.([`/iiif/3/${identifier}*`, `/iiif/2/${identifier}*`]);
    }
    deps.signal?.throwIfAborted();
    const stillLatest = await deps.items.publish(identifier, attempt, { source, published, ...(superseded ? { superseded } : {}), embedded, links, timings }, now());
    if (!stillLatest) {
      // A newer upload (or a removal) took the identifier while this one rendered: withdraw this revision unless it
      // is live, from both stores (a restricted or private revision is partly or wholly in the protected one).
      // Unless access was tightened, the stable info.json was never pointed at it (see below).
      const live = (await deps.items.get(identifier))?.published?.revision;
      if (live !== revision) for (const store of storesOf(deps)) await deleteRevision(store, identifier, revision);
      // A tightening pointed the stable documents here already: back to what the item names (or none).
      if (tightened) await syncStableInfo(deps, identifier, revision);
      return { status: 'skipped', reason: 'superseded by a newer upload while processing' };
    }
    // Only once the item names this revision does the stable info.json move to it. Writing it before the item
    // (as publishRevision once did) let an ingest that a newer upload had overtaken point the stable info.json at
    // its own revision, which it or the newer ingest then deleted (found by test/integration/ingest-load.test.ts,
    // two consumers at once: the item said the new revision, the stable info.json a deleted one).
    await pointStableInfo(deps, identifier, bytes.stable);
    // A newer upload may have published between the item write above and the info.json write: the item is the
    // truth, so the stable documents follow whatever it names now. Without conditional S3 writes a third ingest
    // overlapping both can still race this repair; two consecutive publications cannot.
    const stillOurs = await syncStableInfo(deps, identifier, revision);
    // Clients that loaded the previous info.json keep working: its revision stays until the next replacement.
    // When a newer ingest has published meanwhile, pruning is its job: ours would delete its revision.
    if (stillOurs) for (const store of storesOf(deps)) await pruneRevisions(store, identifier, [revision, superseded?.revision]);
    return { status: 'ready', identifier, revision, files: bytes.files };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Upload a rendered pyramid under its revision, then its info.json documents: a client can never see an info.json
 * before every file it describes exists. Each file goes to the public or the protected store by the access
 * decision (core/access-layout.ts); a substitute goes public whole. The stable (current) info.json documents are
 * returned, not written: the caller writes them once the item names this revision ({@link pointStableInfo}).
 */
async function publishRevision(
  deps: IngestDeps,
  identifier: string,
  revision: string,
  rendered: RenderedPyramid,
  pyramid: PyramidDescription,
  access: AccessDecision,
  substitute: { rendered: RenderedPyramid; identifier: string } | undefined,
): Promise<{ files: number; bytes: number; stable: StableInfo }> {
  const { settings } = deps;
  const storeFor = (placement: AccessPlacement): ObjectStore => (placement === 'public' ? deps.derivatives : deps.protectedDerivatives!);
  const revisionId = revisionIdentifier(identifier, revision);
  const image = { width: rendered.width, height: rendered.height };
  const placed = (path: string) => storeFor(pyramidFilePlacement(path, image, rendered.maxSize, access));
  const uploads = pyramidUploads(revisionId, rendered, placed);
  if (substitute) uploads.push(...pyramidUploads(substitute.identifier, substitute.rendered, () => deps.derivatives));
  await eachLimited(uploads, settings.uploadConcurrency, (upload) => {
    deps.signal?.throwIfAborted();
    return upload();
  });

  const service = { level: 2, upscaling: settings.upscaling } as const;
  const auth = access.policy === 'open' ? undefined : [probeServiceFor(settings.publicUrl, identifier)];
  const info3 = JSON.stringify(buildInfoJson3(imageServiceId(settings.publicUrl, 3, revisionId), pyramid, service, auth));
  const info2 = JSON.stringify(buildInfoJson2(imageServiceId(settings.publicUrl, 2, revisionId), pyramid, service, auth));
  const infoStore = storeFor(infoJsonPlacement(access));
  const documents: (() => Promise<void>)[] = [
    () => infoStore.putBody(infoJsonKey(3, revisionId), info3, { contentType: INFO3_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
    () => infoStore.putBody(infoJsonKey(2, revisionId), info2, { contentType: INFO2_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
  ];
  if (substitute) {
    const sub = substitute.rendered;
    const described: PyramidDescription = {
      width: sub.width,
      height: sub.height,
      tileSize: sub.tileSize,
      scaleFactors: sub.scaleFactors,
      sizes: sub.sizes,
      limits: { maxWidth: sub.width, maxHeight: sub.height },
      ...(pyramid.rights ? { rights: pyramid.rights } : {}),
    };
    const sub3 = JSON.stringify(buildInfoJson3(imageServiceId(settings.publicUrl, 3, substitute.identifier), described, service));
    const sub2 = JSON.stringify(buildInfoJson2(imageServiceId(settings.publicUrl, 2, substitute.identifier), described, service));
    documents.push(
      () => deps.derivatives.putBody(infoJsonKey(3, substitute.identifier), sub3, { contentType: INFO3_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
      () => deps.derivatives.putBody(infoJsonKey(2, substitute.identifier), sub2, { contentType: INFO2_MEDIA_TYPE, cacheControl: CACHE_IMMUTABLE }),
    );
  }
  await Promise.all(documents.map((write) => write()));
  const bytes = [rendered, substitute?.rendered].reduce((sum, r) => sum + (r?.files.reduce((s, f) => s + f.bytes, 0) ?? 0), 0) + info3.length + info2.length;
  // `files` counts the two stable documents the caller writes.
  return { files: uploads.length + documents.length + 2, bytes, stable: { info3, info2, access } };
}

/** The stable info.json documents of one revision, and the access decision that places them. */
interface StableInfo {
  info3: string;
  info2: string;
  access: AccessDecision | undefined;
}

/** Point the stable `iiif/{3,2}/{identifier}/info.json` at a revision (its documents), in the store its access says. */
async function pointStableInfo(deps: IngestDeps, identifier: string, stable: StableInfo): Promise<void> {
  const infoStore = infoJsonPlacement(stable.access) === 'public' ? deps.derivatives : deps.protectedDerivatives!;
  await Promise.all([
    infoStore.putBody(infoJsonKey(3, identifier), stable.info3, { contentType: INFO3_MEDIA_TYPE, cacheControl: CACHE_CURRENT_INFO }),
    infoStore.putBody(infoJsonKey(2, identifier), stable.info2, { contentType: INFO2_MEDIA_TYPE, cacheControl: CACHE_CURRENT_INFO }),
  ]);
  if (infoStore !== deps.derivatives) {
    // A private image has no public entry point, whatever an earlier revision had.
    await deps.derivatives.deleteKeys([infoJsonKey(3, identifier), infoJsonKey(2, identifier)]);
  }
}

/**
 * After this ingest wrote the stable documents for `written`: if the item now names another revision, point them at
 * that one (read back from its immutable documents); if it names none (deleted, or a first upload overtaken by a
 * failure), remove them. True when the item still names `written`.
 */
async function syncStableInfo(deps: IngestDeps, identifier: string, written: string): Promise<boolean> {
  const live = (await deps.items.get(identifier))?.published;
  if (live?.revision === written) return true;
  if (live) await pointStableInfo(deps, identifier, await stableInfoOf(deps, identifier, live));
  else for (const store of storesOf(deps)) await store.deleteKeys([infoJsonKey(3, identifier), infoJsonKey(2, identifier)]);
  return false;
}

/** The stable documents of an already published revision, read back from its immutable info.json documents. */
async function stableInfoOf(deps: IngestDeps, identifier: string, published: PublishedPyramid): Promise<StableInfo> {
  const infoStore = infoJsonPlacement(published.access) === 'public' ? deps.derivatives : deps.protectedDerivatives!;
  const revisionId = revisionIdentifier(identifier, published.revision);
  const read = async (version: 2 | 3) => {
    const body = await infoStore.getBytes(infoJsonKey(version, revisionId));
    if (!body) throw new Error(`the published revision ${revisionId} has no ${version === 3 ? '3.0' : '2.1'} info.json`);
    return Buffer.from(body).toString('utf8');
  };
  return { info3: await read(3), info2: await read(2), access: published.access };
}

/** Uploads of one rendered pyramid under `serviceIdentifier`: tiles, sizes (also under their 2.1 names), `max`. */
function pyramidUploads(serviceIdentifier: string, rendered: RenderedPyramid, storeFor: (path: string) => ObjectStore): (() => Promise<void>)[] {
  const jpeg = { contentType: 'image/jpeg', cacheControl: CACHE_IMMUTABLE };
  const uploads: (() => Promise<void>)[] = rendered.files.map(
    (file) => () => storeFor(file.path).putFile(pyramidFileKey(serviceIdentifier, file.path), join(rendered.root, file.path), jpeg),
  );
  for (const size of rendered.sizes) {
    const path = `full/${size.width},${size.height}/0/default.jpg`;
    uploads.push(() => storeFor(path).putFile(sizeKeyV2(serviceIdentifier, size), join(rendered.root, path), jpeg));
  }
  if (rendered.maxSize.width === rendered.width && rendered.maxSize.height === rendered.height) {
    // Within the limits 2.1's `full` size is the whole image, which `max` already is: OpenSeadragon asks 2.x
    // services for `full/full` when the image fits one tile. Above the limits `full` has no file (an error).
    const path = 'full/max/0/default.jpg';
    uploads.push(() => storeFor(path).putFile(fullSizeKeyV2(serviceIdentifier), join(rendered.root, path), jpeg));
  }
  return uploads;
}

function describeSubstitute(identifier: string, rendered: RenderedPyramid): PublishedSubstitute {
  return {
    identifier,
    width: rendered.width,
    height: rendered.height,
    tileSize: rendered.tileSize,
    scaleFactors: rendered.scaleFactors,
    // As for any pyramid: the stored `full/{w},{h}` sizes; the whole substitute is `full/max`.
    sizes: rendered.sizes,
    files: rendered.files.length,
  };
}

/** Both stores, for withdrawing: whatever the policy was, nothing of a withdrawn revision may stay anywhere. */
function storesOf(deps: IngestDeps): ObjectStore[] {
  return deps.protectedDerivatives ? [deps.derivatives, deps.protectedDerivatives] : [deps.derivatives];
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
  let files = 0;
  for (const store of storesOf(deps)) files += await store.deleteKeys([infoJsonKey(3, identifier), infoJsonKey(2, identifier)]);
  for (const store of storesOf(deps)) files += await deleteRevision(store, identifier);
  await deps.items.markDeleted(identifier, event.key, (deps.now?.() ?? new Date()).toISOString());
  return { status: 'deleted', identifier, files };
}

/** A revision's files, its substitute's (`{identifier}~{revision}~{L}`) included; without a revision, all of them. */
async function deleteRevision(store: ObjectStore, identifier: string, revision = ''): Promise<number> {
  let count = 0;
  for (const prefix of revisionPrefixes(identifier, revision)) {
    if (!revision) count += await store.deletePrefix(prefix);
    else count += (await store.deletePrefix(`${prefix}/`)) + (await store.deletePrefix(`${prefix}~`));
  }
  return count;
}

/** Delete every stored revision of an identifier except those to keep. */
async function pruneRevisions(store: ObjectStore, identifier: string, keep: (string | undefined)[]): Promise<void> {
  const stale = new Set<string>();
  for (const prefix of revisionPrefixes(identifier)) {
    for await (const key of store.listKeys(prefix)) {
      const revision = key.slice(prefix.length).split('/')[0]!.split('~')[0]!;
      if (!keep.includes(revision)) stale.add(revision);
    }
  }
  for (const revision of stale) await deleteRevision(store, identifier, revision);
}

/**
 * Content-addressed: the same bytes under the same recipe give the same revision, so retries are idempotent. The
 * access decision is part of the recipe (an open image's revisions keep their names): a new policy is a new
 * revision, so no URL ever stands for pixels published under another policy, in any cache.
 */
export function revisionFor(checksum: string, settings: IngestSettings, access?: AccessDecision): string {
  const recipe: (string | number | boolean)[] = [RECIPE_VERSION, settings.tileSize, settings.jpegQuality, settings.maxArea, settings.publicUrl, settings.upscaling];
  if (access && access.policy !== 'open') recipe.push(access.policy, access.maxLongSide ?? '');
  return createHash('sha256').update(`${checksum}|${recipe.join('|')}`).digest('hex').slice(0, 12);
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

/**
 * `imagehub ingest PATH…`: upload image files or folders to the ingest bucket of a local or deployed imagehub,
 * then wait until the ingest pipeline (functions/ingest/) has made each one ready or failed it, and say which.
 *
 * Keys are computed here exactly as the ingest will read them (functions/core/identifier.ts), so keys the ingest
 * would ignore or refuse are listed and never uploaded. Waiting compares each image item with the upload it is
 * waiting for (the item's source ETag and its update time, which the ingest sets when it claims the upload), so a
 * re-upload of an image that is already ready waits for this upload's ingest rather than reporting the old one.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { accessFlagsFromMetadata } from '../core/access-policy.ts';
import { identifierForKey, IMAGE_EXTENSIONS } from '../core/identifier.ts';
import type { ImageItem } from '../core/image-item.ts';
import { imageServiceId } from '../core/info-json.ts';
import { createStores } from '../store/stores.ts';
import type { CommandIo } from './harvest-command.ts';
import { bar, ProgressLine, type Output } from './progress.ts';
import { COMMON_OPTIONS, resolveTarget, TARGET_OPTIONS, targetHelp, UsageError, type Target } from './target.ts';

export const INGEST_HELP = `Usage:
  imagehub ingest PATH… [--prefix INSTITUTION/] [--access POLICY] [--no-wait] [--timeout SECONDS] [--json] [options]

Upload image files, or folders of them, to the ingest bucket, wait until each image is ready (or failed), and
summarise: identifier, status, the reason of a failure, and the info.json URL of each ready image.

Keys and identifiers:
  a folder             every image file under it, recursively; the key is the path relative to the folder given
                       (folder museum holding mskgent.be/1829-A.tif → key mskgent.be/1829-A.tif → identifier
                       mskgent.be:1829-A). Hidden files and folders and files without an image extension
                       (${IMAGE_EXTENSIONS.slice(0, 8).join(', ')}, …) are skipped and listed.
  a file               its name is the key (any extension: the ingest reads the bytes, not the name)
  --prefix PREFIX      put the keys under PREFIX, conventionally the institution's domain (--prefix mskgent.be/)
  Keys the ingest would ignore or refuse (no usable characters, too long, two files for one identifier) are
  listed with the reason and not uploaded.

Access (who may see the pixels; without it the record's rights and the institution default decide):
  --access POLICY      open, restricted-size (in copyright: shown up to the configured size without a login) or
                       private (not cleared for public use); stored as the S3 metadata \`access\` of each upload

Waiting:
  --no-wait            stop after uploading (the ingest continues; see \`imagehub status\`)
  --timeout SECONDS    wait at most this long for the ingest (default 600); images still processing are listed

${targetHelp("  --bucket NAME        the ingest bucket (default: the target's; $IMAGEHUB_INGEST_BUCKET for --table)\n")}

  --json               print the summary as JSON
  -h, --help           this help

Exit status: 0 when every image is ready (or, with --no-wait, uploaded), 1 when one failed, was refused or was
still processing at the timeout, 2 for a usage error.`;

/** One PUT carries at most 5 GB; larger masters need a multipart upload, which this command does not do. */
const MAX_SINGLE_UPLOAD = 5 * 1024 ** 3;
const UPLOAD_CONCURRENCY = 4;
const POLL_CONCURRENCY = 8;
const CLOCK_SKEW_MS = 2_000;

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg', jfif: 'image/jpeg', tif: 'image/tiff', tiff: 'image/tiff',
  ptif: 'image/tiff', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif', heic: 'image/heic',
  heif: 'image/heif', jp2: 'image/jp2', j2k: 'image/jp2', jpf: 'image/jpx', jpx: 'image/jpx', j2c: 'image/jp2', jph: 'image/jph',
};

export type FileStatus = 'uploaded' | 'ready' | 'failed' | 'processing' | 'refused' | 'skipped';

export interface FileResult {
  path: string;
  key?: string;
  identifier?: string;
  status: FileStatus;
  reason?: string;
  infoJson?: string;
  width?: number;
  height?: number;
  revision?: string;
}

interface Candidate {
  path: string;
  key: string;
  identifier: string;
  size: number;
}

interface Uploaded extends Candidate {
  etag: string;
  startedAt: string;
}

export async function ingestCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prefix: { type: 'string' },
      access: { type: 'string' },
      'no-wait': { type: 'boolean' },
      timeout: { type: 'string' },
      ...TARGET_OPTIONS,
      bucket: { type: 'string' },
      ...COMMON_OPTIONS,
    },
  });
  if (values.help) {
    io.stdout.write(`${INGEST_HELP}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('name at least one file or folder to upload (see imagehub ingest --help)');
  const timeoutSeconds = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout must be a number of seconds above 0, got "${values.timeout}"`);
  const prefix = normalisePrefix(values.prefix);
  const metadata: Record<string, string> = {};
  if (values.access !== undefined) {
    const { problems } = accessFlagsFromMetadata({ access: values.access });
    if (problems.length > 0) throw new UsageError(`--access: ${problems.join('; ')}`);
    metadata.access = values.access;
  }

  const { candidates, results } = await collect(positionals, prefix);
  if (candidates.length === 0 && !results.some((r) => r.status === 'refused')) {
    throw new UsageError(`no image files found in ${positionals.join(', ')}${results.length ? ` (${results.length} skipped: ${results[0]!.reason}${results.length > 1 ? ', …' : ''})` : ''}`);
  }

  const target = resolveTarget(values, io.env);
  try {
    const bucket = values.bucket ?? target.ingestBucket;
    if (!bucket) throw new UsageError('the ingest bucket is not known for this deployment: name it with --bucket NAME (or $IMAGEHUB_INGEST_BUCKET)');
    io.stderr.write(`uploading ${candidates.length} file${candidates.length === 1 ? '' : 's'} to bucket ${bucket} of ${target.description}\n`);
    const uploaded = await uploadAll(candidates, bucket, target, io.stderr, results, metadata);
    if (!values['no-wait'] && uploaded.length > 0) await waitForIngest(uploaded, target, io.stderr, timeoutSeconds * 1000, results);
    else for (const file of uploaded) results.push({ path: file.path, key: file.key, identifier: file.identifier, status: 'uploaded' });
    report(results, io.stdout, values.json === true, timeoutSeconds);
    return results.some((r) => r.status === 'failed' || r.status === 'refused' || r.status === 'processing') ? 1 : 0;
  } finally {
    target.close();
  }
}

function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const trimmed = prefix.replace(/^\/+/, '');
  if (trimmed === '') throw new UsageError(`--prefix "${prefix}" has no folder name in it`);
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

/** The files to upload with their keys, and the ones skipped or refused with the reason. */
async function collect(paths: string[], prefix: string): Promise<{ candidates: Candidate[]; results: FileResult[] }> {
  const results: FileResult[] = [];
  const found: { path: string; key: string; size: number }[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`${path}: no such file or folder`);
    if (info.isDirectory()) await walk(path, path, prefix, found, results);
    else if (info.isFile()) found.push({ path, key: `${prefix}${basename(path)}`, size: info.size });
    else results.push({ path, status: 'skipped', reason: 'not a regular file' });
  }
  const candidates: Candidate[] = [];
  const byIdentifier = new Map<string, string>();
  const byKey = new Map<string, string>();
  for (const file of found) {
    const mapped = identifierForKey(file.key);
    if (mapped.kind === 'ignored') {
      results.push({ path: file.path, key: file.key, status: 'skipped', reason: mapped.reason });
      continue;
    }
    if (mapped.kind === 'refused') {
      results.push({ path: file.path, key: file.key, status: 'refused', reason: mapped.reason });
      continue;
    }
    const refuse = (reason: string) => results.push({ path: file.path, key: file.key, identifier: mapped.identifier, status: 'refused', reason });
    const sameKey = byKey.get(file.key);
    const sameIdentifier = byIdentifier.get(mapped.identifier);
    if (sameKey) refuse(`the same key "${file.key}" as ${sameKey}`);
    else if (sameIdentifier) refuse(`the same identifier "${mapped.identifier}" as ${sameIdentifier}: rename one of them`);
    else if (file.size > MAX_SINGLE_UPLOAD) refuse('larger than 5 GB, the most one upload can carry: upload it with the AWS CLI (aws s3 cp)');
    else if (file.size === 0) refuse('the file is empty');
    else {
      byKey.set(file.key, file.path);
      byIdentifier.set(mapped.identifier, file.path);
      candidates.push({ ...file, identifier: mapped.identifier });
    }
  }
  return { candidates, results };
}

async function walk(root: string, dir: string, prefix: string, found: { path: string; key: string; size: number }[], results: FileResult[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('.')) {
      results.push({ path, status: 'skipped', reason: entry.isDirectory() ? 'hidden folder' : `hidden or system file "${entry.name}"` });
    } else if (entry.isDirectory()) {
      await walk(root, path, prefix, found, results);
    } else if (entry.isFile()) {
      const ext = extname(entry.name).slice(1).toLowerCase();
      if (!IMAGE_EXTENSIONS.includes(ext)) {
        results.push({ path, status: 'skipped', reason: ext ? `not an image file (.${ext})` : 'not an image file (no extension)' });
        continue;
      }
      const { size } = await stat(path);
      found.push({ path, key: `${prefix}${relative(root, path).split(sep).join('/')}`, size });
    }
  }
}

async function uploadAll(
  candidates: Candidate[],
  bucket: string,
  target: Target,
  out: Output,
  results: FileResult[],
  metadata: Record<string, string> = {},
): Promise<Uploaded[]> {
  const totalBytes = candidates.reduce((sum, c) => sum + c.size, 0);
  const progress = new ProgressLine(out, 2_000);
  let sentBytes = 0;
  let done = 0;
  const show = (force = false) =>
    progress.update(`${bar(totalBytes > 0 ? sentBytes / totalBytes : 1)}  ${megabytes(sentBytes)}/${megabytes(totalBytes)} · ${done}/${candidates.length} files uploaded`, force);
  const uploaded: Uploaded[] = [];
  const failures: { file: Candidate; error: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const file = candidates[next++]!;
      // The ingest stamps the item when it claims the upload, by its own clock: allow for a little skew on AWS.
      const startedAt = new Date(Date.now() - (target.kind === 'aws' ? CLOCK_SKEW_MS : 0)).toISOString();
      let counted = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          counted += chunk.length;
          sentBytes += chunk.length;
          show();
          callback(null, chunk);
        },
      });
      try {
        const ext = extname(file.path).slice(1).toLowerCase();
        const response = await target.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: file.key,
            Body: createReadStream(file.path).pipe(counter),
            ContentLength: file.size,
            ContentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
            ...(Object.keys(metadata).length > 0 ? { Metadata: metadata } : {}),
          }),
        );
        uploaded.push({ ...file, etag: (response.ETag ?? '').replace(/^"|"$/g, ''), startedAt });
      } catch (error) {
        sentBytes -= counted;
        failures.push({ file, error });
      }
      done++;
      show();
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, candidates.length) }, worker));
  show(true);
  progress.done();
  // Nothing got through: the cause is the target (no bucket, no access, not running), said once in plain words.
  if (uploaded.length === 0 && failures.length > 0) throw failures[0]!.error;
  for (const { file, error } of failures) {
    results.push({ path: file.path, key: file.key, identifier: file.identifier, status: 'failed', reason: `upload failed: ${error instanceof Error ? error.message : String(error)}` });
  }
  return uploaded;
}

/** Poll the image items until every upload is ready or failed (or refused), or the time is up. */
async function waitForIngest(files: Uploaded[], target: Target, out: Output, timeoutMs: number, results: FileResult[]): Promise<void> {
  const { images } = createStores(target.db, target.tableName);
  const settled = new Map<Uploaded, FileResult>();
  const progress = new ProgressLine(out, 5_000);
  const deadline = Date.now() + timeoutMs;
  const show = (force = false) => {
    const values = [...settled.values()];
    const ready = values.filter((r) => r.status === 'ready').length;
    const failed = values.length - ready;
    progress.update(`${bar(values.length / files.length)}  ${ready}/${files.length} ready, ${failed} failed, ${files.length - values.length} processing`, force);
  };
  show(true);
  for (;;) {
    const pending = files.filter((file) => !settled.has(file));
    let next = 0;
    const worker = async () => {
      while (next < pending.length) {
        const file = pending[next++]!;
        const outcome = await check(file, images, target.publicUrl);
        if (outcome) settled.set(file, outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, pending.length) }, worker));
    show();
    if (settled.size === files.length || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(0, deadline - Date.now()))));
  }
  show(true);
  progress.done();
  for (const file of files) {
    results.push(settled.get(file) ?? { path: file.path, key: file.key, identifier: file.identifier, status: 'processing', reason: 'still processing when the wait ended' });
  }
}

type ImageReader = ReturnType<typeof createStores>['images'];

/** The outcome of this upload's ingest, or undefined while it is still under way. */
async function check(file: Uploaded, images: ImageReader, publicUrl: string | undefined): Promise<FileResult | undefined> {
  const base = { path: file.path, key: file.key, identifier: file.identifier };
  const item = await images.get(file.identifier, { consistent: true });
  if (item && item.sourceKey === file.key && item.updatedAt >= file.startedAt) {
    if (item.status === 'ready' && (!file.etag || !item.source?.etag || item.source.etag === file.etag)) return readyResult(base, item, publicUrl);
    if (item.status === 'failed') return { ...base, status: 'failed', reason: item.reason ?? 'the ingest failed without a reason' };
  }
  if (!item || item.sourceKey !== file.key) {
    const refusal = await images.getRefusal(file.key);
    if (refusal && refusal.at >= file.startedAt) return { ...base, status: 'failed', reason: refusal.reason };
  }
  return undefined;
}

function readyResult(base: { path: string; key: string; identifier: string }, item: ImageItem, publicUrl: string | undefined): FileResult {
  return {
    ...base,
    status: 'ready',
    ...(publicUrl ? { infoJson: infoJsonUrl(publicUrl, item.identifier) } : {}),
    ...(item.published ? { width: item.published.width, height: item.published.height, revision: item.published.revision } : {}),
  };
}

export function infoJsonUrl(publicUrl: string, identifier: string): string {
  return `${imageServiceId(publicUrl, 3, identifier)}/info.json`;
}

function report(results: FileResult[], out: Output, json: boolean, timeoutSeconds: number): void {
  const count = (status: FileStatus) => results.filter((r) => r.status === status).length;
  const counts = {
    uploaded: count('uploaded'), ready: count('ready'), failed: count('failed'), processing: count('processing'), refused: count('refused'), skipped: count('skipped'),
  };
  if (json) {
    out.write(`${JSON.stringify({ ...counts, files: results })}\n`);
    return;
  }
  const order: FileStatus[] = ['ready', 'uploaded', 'processing', 'failed', 'refused', 'skipped'];
  for (const status of order) {
    for (const r of results.filter((result) => result.status === status)) {
      const name = r.identifier ?? r.key ?? r.path;
      const detail =
        r.status === 'ready' ? `${r.width && r.height ? `${r.width}×${r.height}  ` : ''}${r.infoJson ?? ''}`
        : r.status === 'uploaded' ? `from ${r.path}`
        : r.status === 'processing' ? `still processing after ${timeoutSeconds} s (see imagehub status ${r.identifier ?? ''})`
        : r.status === 'skipped' ? (r.reason ?? '')
        : `${r.path}: ${r.reason ?? ''}`;
      out.write(`${status.padEnd(10)} ${status === 'skipped' ? r.path : name}  ${detail}`.trimEnd() + '\n');
    }
  }
  const parts = order.filter((status) => counts[status] > 0).map((status) => `${counts[status]} ${status === 'processing' ? 'still processing' : status}`);
  out.write(`${parts.join(', ') || 'nothing done'}\n`);
}

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

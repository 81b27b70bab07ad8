/**
 * The only place that reads and writes S3 objects. Keys are whatever the caller computed; this adapter knows
 * nothing about IIIF.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { withStorageRetries } from './storage-faults.ts';

/** The largest body sent from memory (see {@link ObjectStore.putFile}). */
export const RETRYABLE_BODY_BYTES = 16 * 1024 * 1024;

export interface ObjectHead {
  size: number;
  etag?: string;
  versionId?: string;
  contentType?: string;
  cacheControl?: string;
  lastModified?: Date;
  /** User metadata (`x-amz-meta-*`), keys lower-cased. */
  metadata: Record<string, string>;
}

export interface DownloadedObject extends ObjectHead {
  sha256: string;
}

export interface PutOptions {
  contentType: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

export interface StoredObject extends ObjectHead {
  body: Readable;
}

export class ObjectStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        size: out.ContentLength ?? 0,
        etag: out.ETag,
        versionId: out.VersionId,
        contentType: out.ContentType,
        cacheControl: out.CacheControl,
        lastModified: out.LastModified,
        metadata: lowerKeys(out.Metadata),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: out.Body as Readable,
        size: out.ContentLength ?? 0,
        etag: out.ETag,
        versionId: out.VersionId,
        contentType: out.ContentType,
        cacheControl: out.CacheControl,
        lastModified: out.LastModified,
        metadata: lowerKeys(out.Metadata),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** A small object (a tile, an info.json) read whole into memory; `undefined` when it does not exist. */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const object = await this.get(key);
    if (!object) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * `length` bytes from `offset` (one ranged GET), never the whole object. With `ifMatch` (an ETag) the bytes come
   * only from that version of the object: `undefined` when it no longer exists or was replaced since.
   */
  async readRange(key: string, offset: number, length: number, options: { ifMatch?: string } = {}): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1) {
      throw new RangeError(`invalid byte range ${offset}+${length}`);
    }
    const expected = options.ifMatch?.replace(/^"|"$/g, '');
    try {
      const out = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${offset}-${offset + length - 1}`,
          ...(expected ? { IfMatch: `"${expected}"` } : {}),
        }),
      );
      // S3 honours If-Match; stand-ins may not, so the ETag is compared as well.
      if (expected && out.ETag?.replace(/^"|"$/g, '') !== expected) {
        await out.Body?.transformToByteArray();
        return undefined;
      }
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (isNotFound(error) || isPreconditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** Stream an object to a file, hashing it on the way: the master is never held in memory. */
  async downloadToFile(key: string, path: string): Promise<DownloadedObject | undefined> {
    const object = await this.get(key);
    if (!object) return undefined;
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(object.body, hasher, createWriteStream(path));
    const { size } = await stat(path);
    const { body: _body, ...head } = object;
    return { ...head, size, sha256: hash.digest('hex') };
  }

  /**
   * Files up to {@link RETRYABLE_BODY_BYTES} (every tile, most renders) are sent from memory, so the SDK's retries can
   * resend them: a stream body is consumed by the first attempt, and the SDK gives up on it at the first fault.
   * Larger files are streamed, and retried here with the same back-off.
   */
  async putFile(key: string, path: string, options: PutOptions): Promise<void> {
    const { size } = await stat(path);
    if (size <= RETRYABLE_BODY_BYTES) {
      await this.putBody(key, await readFile(path), options);
      return;
    }
    await withStorageRetries(() =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(path),
          ContentLength: size,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          Metadata: options.metadata,
        }),
      ),
    );
  }

  async putBody(key: string, body: string | Uint8Array, options: PutOptions): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: options.contentType,
        CacheControl: options.cacheControl,
        Metadata: options.metadata,
      }),
    );
  }

  async *listKeys(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Delete keys in batches of 1000 (the DeleteObjects limit). Returns how many were deleted. */
  async deleteKeys(keys: readonly string[]): Promise<number> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      if (out.Errors?.length) {
        const first = out.Errors[0]!;
        throw new Error(`could not delete ${out.Errors.length} objects, first ${first.Key}: ${first.Code} ${first.Message}`);
      }
    }
    return keys.length;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const key of this.listKeys(prefix)) keys.push(key);
    return this.deleteKeys(keys);
  }
}

function lowerKeys(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

function isPreconditionFailed(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 412 || error.name === 'PreconditionFailed');
}

function isNotFound(error: unknown): boolean {
  if (error instanceof S3ServiceException) {
    return error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound';
  }
  return false;
}

/**
 * The inbox folder mirrors the ingest bucket: a file copied in (sub-folders become key prefixes) is uploaded once
 * it has stopped growing; a file removed from it is removed from the bucket, which withdraws its image.
 */
import { relative, sep } from 'node:path';
import { mkdirSync } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../store/object-store.ts';
import { encodeKeyLikeS3 } from './local-queue.ts';

export interface InboxOptions {
  dir: string;
  ingest: ObjectStore;
  /** Called after each upload/removal when the store sends no notifications of its own. */
  notify?: (message: string) => void;
  log?: (line: string) => void;
}

export function watchInbox({ dir, ingest, notify, log = () => undefined }: InboxOptions): FSWatcher {
  mkdirSync(dir, { recursive: true });
  const keyOf = (path: string) => relative(dir, path).split(sep).join('/');
  const event = (name: string, key: string, size?: number) =>
    JSON.stringify({ Records: [{ eventName: name, s3: { bucket: { name: ingest.bucket }, object: { key: encodeKeyLikeS3(key), ...(size !== undefined ? { size } : {}) } } }] });

  const upload = async (path: string) => {
    const key = keyOf(path);
    try {
      await ingest.putFile(key, path, { contentType: 'application/octet-stream' });
      log(`inbox: uploaded ${key}`);
      notify?.(event('ObjectCreated:Put', key));
    } catch (error) {
      log(`inbox: could not upload ${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const remove = async (path: string) => {
    const key = keyOf(path);
    try {
      await ingest.s3.send(new DeleteObjectCommand({ Bucket: ingest.bucket, Key: key }));
      log(`inbox: removed ${key}`);
      notify?.(event('ObjectRemoved:Delete', key));
    } catch (error) {
      log(`inbox: could not remove ${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return watch(dir, {
    ignoreInitial: false,
    awaitWriteFinish: { stabilityThreshold: 1000, pollInterval: 200 },
    ignored: (path) => /(^|[/\\])\.[^/\\]/.test(relative(dir, path)),
  })
    .on('add', (path) => void upload(path))
    .on('change', (path) => void upload(path))
    .on('unlink', (path) => void remove(path));
}

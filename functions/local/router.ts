/**
 * The one-machine HTTP front: routes like the CDN does in production. Stored files first (the same
 * {@link storedKeyForPath} mapping the CloudFront function runs), then the stable-identifier aliases that the
 * Image API answers in production (image requests on `/iiif/3/{identifier}/…` resolved to the current revision).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { revisionIdentifier, splitRevisionIdentifier } from '../core/identifier.ts';
import { splitImagePath, storedKeyForPath } from '../core/static-paths.ts';
import type { ImageItems } from '../store/image-items.ts';
import type { ObjectStore } from '../store/object-store.ts';

export interface RouterDeps {
  derivatives: ObjectStore;
  items: ImageItems;
  publicUrl: string;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': '*',
  'Access-Control-Expose-Headers': 'ETag, Last-Modified, Link, Content-Length',
  'Access-Control-Max-Age': '86400',
};

/** Stable-identifier image URLs follow the current revision: cacheable briefly, never immutably. */
const CACHE_ALIAS = 'public, max-age=300';

export function createRouter(deps: RouterDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(req, res, deps);
    } catch (error) {
      if (!res.headersSent) text(res, 502, `upstream error: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    }
  };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: RouterDeps): Promise<void> {
  if (req.method === 'OPTIONS') {
    res.writeHead(204, CORS_HEADERS).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    text(res, 405, 'method not allowed', { Allow: 'GET, HEAD, OPTIONS' });
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    text(res, 400, 'malformed percent-encoding in the URL path');
    return;
  }
  const parts = splitImagePath(path.replace(/\/$/, ''));
  if (!parts) {
    text(res, 404, `not found: ${path}`);
    return;
  }
  if (parts.rest === '') {
    // The base URI of an image service redirects to its info.json (Image API 3.0 §2.2, 2.1 §2.2).
    res.writeHead(303, { ...CORS_HEADERS, Location: `${deps.publicUrl}/iiif/${parts.version}/${parts.identifier}/info.json`, 'Cache-Control': 'public, max-age=3600' }).end();
    return;
  }
  const key = storedKeyForPath(path);
  if (key && (await serve(req, res, deps, key))) return;

  const { identifier, revision } = splitRevisionIdentifier(parts.identifier);
  if (!revision && parts.rest !== 'info.json') {
    const live = (await deps.items.get(identifier))?.published?.revision;
    if (live) {
      const aliasKey = storedKeyForPath(`/iiif/${parts.version}/${revisionIdentifier(identifier, live)}/${parts.rest}`);
      if (aliasKey && (await serve(req, res, deps, aliasKey, CACHE_ALIAS))) return;
    }
  }
  text(res, 404, `not found: ${path}`);
}

async function serve(req: IncomingMessage, res: ServerResponse, deps: RouterDeps, key: string, cacheControl?: string): Promise<boolean> {
  const object = await deps.derivatives.get(key);
  if (!object) return false;
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'Content-Type': object.contentType ?? 'application/octet-stream',
    'Content-Length': String(object.size),
  };
  headers['Cache-Control'] = cacheControl ?? object.cacheControl ?? 'no-cache';
  if (object.etag) headers.ETag = object.etag;
  if (object.lastModified) headers['Last-Modified'] = object.lastModified.toUTCString();
  if (object.etag && req.headers['if-none-match'] === object.etag) {
    object.body.destroy();
    const { 'Content-Length': _length, ...notModified } = headers;
    res.writeHead(304, notModified).end();
    return true;
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    object.body.destroy();
    res.end();
    return true;
  }
  await pipeline(object.body, res);
  return true;
}

function text(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra }).end(`${message}\n`);
}

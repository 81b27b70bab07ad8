/**
 * The one-machine HTTP front, routing as the CDN does in production: a stored file answers first (the same
 * {@link storedKeyForPath} mapping the CloudFront function runs), and everything else under `/iiif/` goes to the
 * Image API, exactly as CloudFront falls back to the Image API Lambda for what S3 does not hold.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isIdentifier, splitRevisionIdentifier } from '../core/identifier.ts';
import { CORS_HEADERS } from '../core/http-headers.ts';
import { splitImagePath, storedKeyForPath } from '../core/static-paths.ts';
import { answerImageRequest, type ImageApiDeps } from '../image-api/answer-image-request.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { answerPresentationRequest, PRESENTATION_PREFIX, type PresentationDeps } from '../presentation/answer-presentation-request.ts';

export interface RouterDeps extends ImageApiDeps {
  derivatives: ObjectStore;
  presentation: PresentationDeps;
}

export function createRouter(deps: RouterDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(req, res, deps);
    } catch (error) {
      // What API Gateway answers when the function fails; logged so a developer sees why.
      console.error(error);
      if (!res.headersSent) text(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    }
  };
}

async function route(req: IncomingMessage, res: ServerResponse, deps: RouterDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith('/iiif/')) {
    text(res, 404, `not found: ${url.pathname}`);
    return;
  }
  if (url.pathname.startsWith(PRESENTATION_PREFIX)) {
    // CloudFront's `/iiif/presentation/*` behaviour: the Presentation API Lambda.
    const answer = await answerPresentationRequest(
      { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers as Record<string, string | undefined> },
      deps.presentation,
    );
    send(res, answer);
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const key = storedKeyFor(url.pathname);
    if (key && (await serveStored(req, res, deps.derivatives, key))) return;
  }
  send(res, await answerImageRequest({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers as Record<string, string | undefined> }, deps));
}

function send(res: ServerResponse, answer: { status: number; headers: Record<string, string>; body?: Uint8Array | string }): void {
  const headers = { ...answer.headers };
  if (answer.body !== undefined) headers['content-length'] = String(Buffer.byteLength(answer.body));
  res.writeHead(answer.status, headers).end(answer.body);
}

/** A canonical `{region}/{size}/{rotation}/{quality}.{format}`, the name of a stored render (bounded, plain ASCII). */
const STORED_RENDER = /^[a-z0-9,]{1,64}\/\^?[a-z0-9,]{1,64}\/!?[0-9.]{1,32}\/[a-z]{1,16}\.[a-z]{1,8}$/;

/**
 * The key the CDN's storage origin reads for a path: the mapped file if {@link storedKeyForPath} names one, else
 * the path itself (S3 is asked for the URI as it is), which is where the Image API stores renders too large to
 * answer inline. Only for identifiers the ingest can have written: other paths hold no file (and names such as
 * `%00` or a 300-character segment would make the file-system stand-in for S3 fail).
 */
function storedKeyFor(pathname: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined; // malformed encoding: the Image API explains
  }
  const parts = splitImagePath(path);
  if (!parts) return undefined;
  const { identifier, revision } = splitRevisionIdentifier(parts.identifier);
  if (!isIdentifier(identifier) || (revision !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(revision))) return undefined;
  return storedKeyForPath(path) ?? (revision !== undefined && STORED_RENDER.test(parts.rest) ? path.slice(1) : undefined);
}

async function serveStored(req: IncomingMessage, res: ServerResponse, derivatives: ObjectStore, key: string): Promise<boolean> {
  const object = await derivatives.get(key);
  if (!object) return false;
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'Content-Type': object.contentType ?? 'application/octet-stream',
    'Content-Length': String(object.size),
    'Cache-Control': object.cacheControl ?? 'no-cache',
  };
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

function text(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${message}\n`);
}

/**
 * The one-machine HTTP front, routing as the CDN does in production: a stored file answers first (the same
 * {@link storedKeyForPath} mapping the CloudFront function runs), and everything else under `/iiif/` goes to the
 * Image API, exactly as CloudFront falls back to the Image API Lambda for what S3 does not hold. Only here, not in
 * production: IIIF viewers to look at the result, `/viewer/{mirador,uv}.html?manifest=URL` with their bundles
 * under `/viewers/`, and the web app with its JSON API (functions/local/web/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { answerAuthRequest, readBoundedBody, type AuthDeps } from '../auth/answer-auth-request.ts';
import { AUTH_PREFIX } from '../core/auth.ts';
import { isIdentifier, splitRevisionIdentifier } from '../core/identifier.ts';
import { CORS_HEADERS } from '../core/http-headers.ts';
import { splitImagePath, storedKeyForPath } from '../core/static-paths.ts';
import { answerImageRequest, type ImageApiDeps } from '../image-api/answer-image-request.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { failureAnswer } from '../store/storage-faults.ts';
import { answerPresentationRequest, PRESENTATION_PREFIX, type PresentationDeps } from '../presentation/answer-presentation-request.ts';
import type { ViewerAssets, ViewerName } from './viewer-assets.ts';
import { miradorPage, uvPage, type ViewerPage } from './viewer-pages.ts';
import type { WebDeps } from './web/api.ts';
import { answerWeb } from './web/pages.ts';

export interface RouterDeps extends ImageApiDeps {
  derivatives: ObjectStore;
  presentation: PresentationDeps;
  /** The viewers' bundles; without them `/viewer/` and `/viewers/` are not found. */
  viewers?: ViewerAssets;
  /** The web app (`/`, `/object/…`, `/upload`, `/activity`) and its JSON API (`/api/…`); local only. */
  web?: WebDeps;
  /** The IIIF Auth 2.0 services under `/iiif/auth/` (CloudFront's behaviour for the Auth API Lambda). */
  auth?: AuthDeps;
}

export function createRouter(deps: RouterDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await route(req, res, deps);
    } catch (error) {
      // What the deployed handlers answer when a request fails under them (store/storage-faults.ts); logged so a
      // developer sees why.
      console.error(error);
      if (res.headersSent) res.destroy();
      else {
        const failure = failureAnswer(error, error instanceof Error ? error.message : String(error));
        res.writeHead(failure.status, failure.headers).end(failure.body);
      }
    }
  };
}

/**
 * The request target as a URL. Resolved against a base, a path such as `//%zz/x` or `/\\/x` reads as a
 * protocol-relative URL with an invalid host and throws (found by test/fuzz/http-routes.test.ts); appended to the
 * origin it stays a path. Anything that still does not parse (an absolute-form target naming another host) is not
 * a request for this server.
 */
function requestUrl(target: string): URL | undefined {
  try {
    return new URL(`http://localhost${target.startsWith('/') ? target : `/${target}`}`);
  } catch {
    return undefined;
  }
}

async function route(req: IncomingMessage, res: ServerResponse, deps: RouterDeps): Promise<void> {
  const url = requestUrl(req.url ?? '/');
  if (!url) {
    text(res, 400, `the request target ${JSON.stringify((req.url ?? '').slice(0, 200))} is not a path on this server`);
    return;
  }
  if (deps.viewers && (url.pathname.startsWith('/viewer/') || url.pathname.startsWith('/viewers/'))) {
    await routeViewer(req, res, url, deps.viewers);
    return;
  }
  if (deps.web && !url.pathname.startsWith('/iiif/') && (await answerWeb(req, res, url, deps.web))) return;
  if (!url.pathname.startsWith('/iiif/')) {
    text(res, 404, `not found: ${url.pathname}`);
    return;
  }
  if (deps.auth && url.pathname.startsWith(AUTH_PREFIX)) {
    // Login forms are tiny; API Gateway bounds bodies in production, this bounds them here.
    const body = req.method === 'POST' ? await readBoundedBody(req) : '';
    if (body === undefined) {
      res.writeHead(413, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' }).end('request body too large\n');
      return;
    }
    const headers = req.headers as Record<string, string | undefined>;
    send(res, await answerAuthRequest({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body }, deps.auth));
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

const VIEWER_PAGES: Record<string, (query: URLSearchParams) => ViewerPage> = {
  '/viewer/mirador.html': miradorPage,
  '/viewer/uv.html': uvPage,
};

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  ico: 'image/x-icon',
  txt: 'text/plain; charset=utf-8',
};

/** The viewer pages and the viewers' files: only files listed when they were extracted, so no path escapes. */
async function routeViewer(req: IncomingMessage, res: ServerResponse, url: URL, viewers: ViewerAssets): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  const makePage = VIEWER_PAGES[url.pathname];
  const file = /^\/viewers\/(mirador|uv)\/(.+)$/.exec(url.pathname);
  if (!makePage && !file) {
    text(res, 404, `not found: ${url.pathname}`);
    return;
  }
  const state = await viewers.ready();
  if (!state.ok) {
    res
      .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '60' })
      .end(`the IIIF viewers are not available: ${state.reason}\nrun \`npm run build:viewers\` with access to the npm registry, then reload\n`);
    return;
  }
  if (makePage) {
    const page = makePage(url.searchParams);
    if (page.status !== 200) {
      text(res, page.status, page.message);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(page.html)) });
    res.end(req.method === 'HEAD' ? undefined : page.html);
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(file![2]!);
  } catch {
    relative = '';
  }
  const entry = state.viewers[file![1] as ViewerName].files.get(relative);
  if (!entry) {
    text(res, 404, `not found: ${url.pathname}`);
    return;
  }
  const extension = relative.slice(relative.lastIndexOf('.') + 1);
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
    'Content-Length': String(entry.size),
    // Pinned releases whose file names do not carry the version: cached a while, not forever.
    'Cache-Control': 'public, max-age=3600',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else await pipeline(createReadStream(entry.path), res);
}

function text(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${message}\n`);
}

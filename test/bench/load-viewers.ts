/**
 * The load benchmark's simulated IIIF viewers (test/bench/load.bench.ts): what OpenSeadragon (Mirador, Universal
 * Viewer) asks of an image service while someone looks at an image, plus random dynamic Image API requests.
 *
 * OpenSeadragon's model, as far as the requests go (IIIFTileSource and TiledImage, 4.x–6.x defaults):
 *  - levels: `maxLevel = log2(largest scale factor)`, level l is scale factor 2^(maxLevel − l);
 *  - tile URLs: region `full` when one tile covers the level, else `x,y,w,h`; size `w,h` (3.0) or `w,` (2.x), `max`
 *    / `full` for a tile at full size as wide as the image: the rules test/integration/client-urls.ts checks against
 *    the stored pyramid;
 *  - which levels: every level from the coarsest (`minLevel` 0, since `minZoomImageRatio` 0.9 < 1) up to the
 *    finest one drawn with at least `minPixelRatio` (0.5) screen pixels per level pixel, each for the tiles that
 *    intersect the viewport. A viewer opening an image loads all of them (coarse first, for the blend); after a
 *    zoom or pan the finer levels cover the screen, so only the two finest levels are asked again (the coarse
 *    ones are in OSD's tile cache), and tiles already fetched in this session are never fetched twice;
 *  - the home view fits the image into the container (`homeFillsViewer` false); zooming by clicks (factor 2) keeps
 *    the clicked point still; `maxZoomPixelRatio` 1.1 caps the zoom; pans keep the centre on the image.
 * A browser opens at most 6 connections to one host (HTTP/1.1), so each viewer has its own keep-alive agent with
 * that many sockets and as many requests in flight.
 */
import { Agent, request } from 'node:http';
import { seededRandom } from './random.ts';
import { openSeadragonTile } from '../integration/client-urls.ts';

export interface InfoDoc {
  id?: string;
  '@id'?: string;
  width: number;
  height: number;
  tiles?: { width: number; height?: number; scaleFactors: number[] }[];
  sizes?: { width: number; height: number }[];
}

/** One ingested image as the viewers know it: both info.json documents as imagehub serves them. */
export interface LoadImage {
  identifier: string;
  v3: InfoDoc;
  v2: InfoDoc;
}

export type Category = 'info' | 'tile' | 'dynamic';

export interface ViewerOptions {
  origin: string;
  images: LoadImage[];
  viewers: number;
  seconds: number;
  /** Share of all requests that are random dynamic Image API requests (0 for a static-only phase). */
  dynamicShare: number;
  /** Requests in flight per viewer (a browser's per-host connection limit). */
  connections: number;
  /** Pause between two views of a session (a user's pan or click); 0 = a closed loop at full speed. */
  thinkMs: number;
  seed: number;
  container?: { width: number; height: number };
}

export interface PhaseResult {
  seconds: number;
  requests: number;
  errors: number;
  /** `{category} {status or error code}` → count and one example path. */
  errorBreakdown: Record<string, { count: number; example: string }>;
  latencies: Record<Category, number[]>;
  bytes: number;
  sessions: number;
  /** Tile and info.json requests the store did not hold, answered by the Image API instead (should be 0). */
  staticFallbacks: number;
  staticFallbackExamples: string[];
  /** Dynamic requests that happened to name a stored file and were served from the store. */
  dynamicServedStatic: number;
  /**
   * Requests sent on a kept-alive connection that the server closed meanwhile (ECONNRESET before any answer) and
   * sent again on a new one, as browsers do and Node's documentation advises (`request.reusedSocket`). Counted,
   * not errors; a reset on a fresh connection, or a second one, is an error.
   */
  keepAliveRetries: number;
  /** Dynamic answers too large to send inline: 303 to the stored render, followed (one more request, timed in). */
  redirects: number;
}

const CONTAINER = { width: 1280, height: 800 };
const MIN_PIXEL_RATIO = 0.5;
const MAX_ZOOM_PIXEL_RATIO = 1.1;
const TIMEOUT_MS = 120_000;

/** The path part of a service id: viewers are pointed at another origin (the reference) with the same paths. */
export const pathOf = (id: string): string => new URL(id).pathname;

interface Geometry {
  base: string;
  v3: boolean;
  W: number;
  H: number;
  tw: number;
  th: number;
  maxLevel: number;
}

function geometry(info: InfoDoc): Geometry {
  const v3 = typeof info.id === 'string';
  const tiles = info.tiles?.[0];
  if (!tiles) throw new Error('info.json without tiles');
  return {
    base: pathOf(String(v3 ? info.id : info['@id'])),
    v3,
    W: info.width,
    H: info.height,
    tw: tiles.width,
    th: tiles.height ?? tiles.width,
    maxLevel: Math.round(Math.log2(Math.max(...tiles.scaleFactors))),
  };
}

/** OpenSeadragon's URL for tile (x, y) at scale factor s (the rules client-urls.ts checks the ingest against). */
function tileUrl(g: Geometry, s: number, x: number, y: number): string {
  return openSeadragonTile({ base: g.base, v3: g.v3, width: g.W, height: g.H, tileWidth: g.tw, tileHeight: g.th }, s, x, y).url;
}

/** The tiles of scale factor s that intersect the image rectangle [x0, x1) × [y0, y1). */
function tilesIn(g: Geometry, s: number, x0: number, y0: number, x1: number, y1: number): string[] {
  const levelWidth = Math.ceil(g.W / s);
  const levelHeight = Math.ceil(g.H / s);
  if (levelWidth < g.tw && levelHeight < g.th) return [tileUrl(g, s, 0, 0)];
  const columns = Math.ceil(levelWidth / g.tw);
  const rows = Math.ceil(levelHeight / g.th);
  const urls: string[] = [];
  const spanX = g.tw * s;
  const spanY = g.th * s;
  for (let y = Math.max(0, Math.floor(y0 / spanY)); y <= Math.min(rows - 1, Math.floor((y1 - 1e-6) / spanY)); y++) {
    for (let x = Math.max(0, Math.floor(x0 / spanX)); x <= Math.min(columns - 1, Math.floor((x1 - 1e-6) / spanX)); x++) urls.push(tileUrl(g, s, x, y));
  }
  return urls;
}

/** Every tile URL OpenSeadragon can ask of this info.json, at any zoom (the reference server's corpus). */
export function allOsdTileUrls(info: InfoDoc): string[] {
  const g = geometry(info);
  const urls: string[] = [];
  for (let level = 0; level <= g.maxLevel; level++) urls.push(...tilesIn(g, 2 ** (g.maxLevel - level), 0, 0, g.W, g.H));
  return urls;
}

interface View {
  cx: number;
  cy: number;
  /** Screen pixels per image pixel. */
  z: number;
}

/** The URLs one view needs, coarse levels first (`opening`: every level; else the two finest, see the header). */
function viewTiles(g: Geometry, view: View, opening: boolean, container: { width: number; height: number }): string[] {
  // OSD's highestLevel: floor(log2(screen pixels per level-0 pixel / minPixelRatio)), at most maxLevel.
  const zeroRatio = view.z * 2 ** g.maxLevel;
  const highest = Math.max(0, Math.min(g.maxLevel, Math.floor(Math.log2(zeroRatio / MIN_PIXEL_RATIO))));
  const lowest = opening ? 0 : Math.max(0, highest - 1);
  const halfW = container.width / (2 * view.z);
  const halfH = container.height / (2 * view.z);
  const x0 = Math.max(0, view.cx - halfW);
  const x1 = Math.min(g.W, view.cx + halfW);
  const y0 = Math.max(0, view.cy - halfH);
  const y1 = Math.min(g.H, view.cy + halfH);
  const urls: string[] = [];
  for (let level = lowest; level <= highest; level++) urls.push(...tilesIn(g, 2 ** (g.maxLevel - level), x0, y0, x1, y1));
  return urls;
}

/** One viewing session: home, 1–4 zoom-in clicks towards a point, 2–6 pans, 0–2 zoom-out clicks. */
function sessionViews(g: Geometry, next: () => number, container: { width: number; height: number }): View[] {
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const home = Math.min(container.width / g.W, container.height / g.H);
  const maxZ = Math.max(home, MAX_ZOOM_PIXEL_RATIO);
  let view: View = { cx: g.W / 2, cy: g.H / 2, z: home };
  const views = [view];
  const clamp = (v: View): View => ({ cx: Math.min(g.W, Math.max(0, v.cx)), cy: Math.min(g.H, Math.max(0, v.cy)), z: v.z });
  const zoomIns = int(1, 4);
  for (let i = 0; i < zoomIns && view.z < maxZ; i++) {
    // The clicked point stays where it is on screen: centre' = point + (centre − point) / factor.
    const px = view.cx + (next() - 0.5) * (container.width / view.z) * 0.8;
    const py = view.cy + (next() - 0.5) * (container.height / view.z) * 0.8;
    const factor = Math.min(2, maxZ / view.z);
    view = clamp({ cx: px + (view.cx - px) / factor, cy: py + (view.cy - py) / factor, z: view.z * factor });
    views.push(view);
  }
  const pans = int(2, 6);
  for (let i = 0; i < pans; i++) {
    const dx = (next() - 0.5) * 1.6 * (container.width / view.z);
    const dy = (next() - 0.5) * 1.6 * (container.height / view.z);
    view = clamp({ cx: view.cx + dx, cy: view.cy + dy, z: view.z });
    views.push(view);
  }
  const zoomOuts = int(0, 2);
  for (let i = 0; i < zoomOuts && view.z > home; i++) {
    view = clamp({ ...view, z: Math.max(home, view.z / 2) });
    views.push(view);
  }
  return views;
}

/**
 * A random dynamic Image API request that is valid, so anything but 2xx is an error: region full, square, pixel
 * (128–2048 px a side) or pct (10–100 %); size `w,`, `,h`, `pct:n`, `!w,h`, `w,h` never above the region (3.0
 * needs `^` for that) and at most 1024 px, or `max` / 2.1 `full` for regions up to 1.2 MP; rotation 0/90/180/270,
 * mirrored or not; quality default/color/gray/bitonal; format jpg/png/webp. Mostly on the revision identifier
 * (what viewers hold), some on the stable one. Answers stay well below the 4 MB inline limit, above which the Image
 * API answers 303 to a stored copy (followed anyway, as a browser would).
 */
export function dynamicRequest(image: LoadImage, version: 2 | 3, next: () => number): string {
  const int = (min: number, max: number) => min + Math.floor(next() * (Math.max(min, max) - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const info = version === 3 ? image.v3 : image.v2;
  const W = info.width;
  const H = info.height;
  const base = next() < 0.85 ? pathOf(String(version === 3 ? info.id : info['@id'])) : `/iiif/${version}/${image.identifier}`;

  let region: string;
  let rw: number;
  let rh: number;
  const kind = next();
  if (kind < 0.3) {
    region = 'full';
    [rw, rh] = [W, H];
  } else if (kind < 0.45) {
    region = 'square';
    rw = rh = Math.min(W, H);
  } else if (kind < 0.8) {
    const w = int(128, Math.min(2048, W));
    const h = int(128, Math.min(2048, H));
    region = `${int(0, W - w)},${int(0, H - h)},${w},${h}`;
    [rw, rh] = [w, h];
  } else {
    const pw = int(10, 100);
    const ph = int(10, 100);
    region = `pct:${int(0, 100 - pw)},${int(0, 100 - ph)},${pw},${ph}`;
    // The server's rounding may differ by a pixel: stay one below.
    [rw, rh] = [Math.floor((W * pw) / 100) - 1, Math.floor((H * ph) / 100) - 1];
  }

  const cap = 1024;
  const lo = (side: number) => Math.min(64, side);
  let size: string;
  const form = next();
  // `w,` and `,h`: the other side follows the region's aspect and must stay within the cap too.
  if (form < 0.2) size = `${int(lo(rw), Math.min(rw, cap, Math.floor((cap * rw) / rh)))},`;
  else if (form < 0.35) size = `,${int(lo(rh), Math.min(rh, cap, Math.floor((cap * rh) / rw)))}`;
  else if (form < 0.5) {
    const low = Math.ceil((100 * 16) / Math.min(rw, rh));
    const high = Math.max(1, Math.floor((100 * cap) / Math.max(rw, rh)));
    size = `pct:${Math.min(high, int(Math.min(low, high), Math.min(100, high)))}`;
  } else if (form < 0.75) size = `!${int(lo(rw), Math.min(rw, cap))},${int(lo(rh), Math.min(rh, cap))}`;
  else if (form < 0.9) size = `${int(lo(rw), Math.min(rw, cap))},${int(lo(rh), Math.min(rh, cap))}`;
  else if (rw * rh <= 1_200_000) size = version === 2 && next() < 0.5 ? 'full' : 'max';
  else size = `!${cap},${cap}`;

  const rotation = `${next() < 0.25 ? '!' : ''}${next() < 0.5 ? 0 : pick([90, 180, 270])}`;
  const quality = pick(['default', 'default', 'color', 'gray', 'bitonal']);
  const format = pick(['jpg', 'jpg', 'jpg', 'png', 'webp']);
  return `${base}/${region}/${size}/${rotation}/${quality}.${format}`;
}

interface Outcome {
  status?: number;
  error?: string;
  bytes: number;
  /** The Image API answered (its answers carry a canonical `Link`; stored files do not). */
  rendered: boolean;
  /** Sent on a kept-alive connection (`request.reusedSocket`). */
  reused?: boolean;
  location?: string;
}

function get(agent: Agent, origin: URL, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ agent, hostname: origin.hostname, port: origin.port, path, method: 'GET', headers: { accept: '*/*' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, rendered: /rel="canonical"/.test(String(res.headers.link ?? '')), location: res.headers.location }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, bytes, rendered: false }));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, bytes: 0, rendered: false, reused: req.reusedSocket }));
    req.end();
  });
}

/** Run `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let index = 0;
  const lane = async () => {
    while (index < items.length) await work(items[index++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** `options.viewers` viewers, each looping over sessions until the time is up; requests in flight then finish. */
export async function runViewers(options: ViewerOptions): Promise<PhaseResult> {
  const origin = new URL(options.origin);
  const container = options.container ?? CONTAINER;
  const result: PhaseResult = {
    seconds: 0,
    requests: 0,
    errors: 0,
    errorBreakdown: {},
    latencies: { info: [], tile: [], dynamic: [] },
    bytes: 0,
    sessions: 0,
    staticFallbacks: 0,
    staticFallbackExamples: [],
    dynamicServedStatic: 0,
    keepAliveRetries: 0,
    redirects: 0,
  };
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  const fetchOne = async (agent: Agent, category: Category, path: string): Promise<Outcome> => {
    const t0 = performance.now();
    let outcome = await get(agent, origin, path);
    if (outcome.error === 'ECONNRESET' && outcome.reused) {
      result.keepAliveRetries++;
      outcome = await get(agent, origin, path);
    }
    if (category === 'dynamic' && outcome.status === 303 && outcome.location) {
      result.redirects++;
      const target = new URL(outcome.location, origin);
      outcome = await get(agent, origin, `${target.pathname}${target.search}`);
    }
    const ms = performance.now() - t0;
    result.requests++;
    result.bytes += outcome.bytes;
    const ok = outcome.status !== undefined && ((outcome.status >= 200 && outcome.status < 300) || outcome.status === 304);
    if (!ok) {
      result.errors++;
      const key = `${category} ${outcome.status ?? outcome.error}`;
      const entry = (result.errorBreakdown[key] ??= { count: 0, example: path });
      entry.count++;
      return outcome;
    }
    result.latencies[category].push(ms);
    if (category !== 'dynamic' && outcome.rendered) {
      result.staticFallbacks++;
      if (result.staticFallbackExamples.length < 5) result.staticFallbackExamples.push(path);
    }
    if (category === 'dynamic' && !outcome.rendered) result.dynamicServedStatic++;
    return outcome;
  };

  const viewer = async (index: number) => {
    const next = seededRandom(options.seed + index * 7919);
    const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
    let statics = 0;
    let dynamics = 0;
    try {
      while (performance.now() < deadline) {
        const image = options.images[Math.floor(next() * options.images.length)]!;
        const version: 2 | 3 = next() < 0.75 ? 3 : 2;
        result.sessions++;
        // The stable info.json, as a viewer given an identifier starts; its `id` names the revision.
        await fetchOne(agent, 'info', `/iiif/${version}/${image.identifier}/info.json`);
        statics++;
        const g = geometry(version === 3 ? image.v3 : image.v2);
        const seen = new Set<string>();
        const views = sessionViews(g, next, container);
        for (let v = 0; v < views.length && performance.now() < deadline; v++) {
          const tiles = viewTiles(g, views[v]!, v === 0, container).filter((url) => !seen.has(url));
          for (const url of tiles) seen.add(url);
          const batch: { category: Category; path: string }[] = tiles.map((path) => ({ category: 'tile', path }));
          statics += tiles.length;
          // Dynamic requests keep their share of the whole: interleaved at random places in the batch.
          while (options.dynamicShare > 0 && dynamics < (options.dynamicShare / (1 - options.dynamicShare)) * statics) {
            batch.splice(Math.floor(next() * (batch.length + 1)), 0, { category: 'dynamic', path: dynamicRequest(image, version, next) });
            dynamics++;
          }
          await pool(batch, options.connections, async (item) => void (await fetchOne(agent, item.category, item.path)));
          if (options.thinkMs > 0) await new Promise((r) => setTimeout(r, options.thinkMs));
        }
      }
    } finally {
      agent.destroy();
    }
  };

  await Promise.all(Array.from({ length: options.viewers }, (_, i) => viewer(i)));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/**
 * The image URLs IIIF viewers derive from an info.json, computed the way their sources do, with the pixel size
 * each URL must return:
 *  - OpenSeadragon's IIIFTileSource (used by Mirador and Universal Viewer; read from src/iiiftilesource.js, 6.x):
 *    region `full` when a tile covers the image, else `x,y,w,h`; size `w,h` for 3.0, `w,` for a 2.x level-0
 *    service, `max` (3.0) when the tile is the full-size image, `full` (2.x) when it is as wide as the image;
 *  - Leaflet-IIIF: always `x,y,w,h` regions (never `full`), size `ceil(w/s),ceil(h/s)` for ImageService3, else
 *    `ceil(w/s),`;
 *  - thumbnails and static renditions from `sizes`: `full/w,h` (Mirador's ThumbnailFactory, any version; OSD's
 *    sizes-only mode for 3.0), `full/w,` (2.x canonical); and `full/max` (both), `full/full` (2.x, within limits).
 * Not covered, because no level-0 service can answer them: Universal Viewer's thumbnails (`full/90,`, `full/200,`,
 * which ignore `sizes`) and Leaflet-IIIF's zoom-outs below the smallest scale factor; the Image API answers those.
 */
interface Info {
  id?: unknown;
  '@id'?: unknown;
  width?: unknown;
  height?: unknown;
  tiles?: { width: number; height?: number; scaleFactors: number[] }[];
  sizes?: { width: number; height: number }[];
  maxArea?: number;
  profile?: unknown;
}

export interface ClientUrl {
  url: string;
  width: number;
  height: number;
}

/** An image service's tile grid, as a viewer reads it from info.json. */
export interface TileGrid {
  base: string;
  v3: boolean;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
}

/**
 * OpenSeadragon's URL for tile (x, y) at scale factor s (IIIFTileSource.getTileUrl), with the pixel size it must
 * return. A level smaller than one tile is asked for as a whole-image size.
 */
export function openSeadragonTile(grid: TileGrid, s: number, x: number, y: number): ClientUrl {
  const { base, v3, width: W, height: H, tileWidth: tw, tileHeight: th } = grid;
  const levelWidth = Math.ceil(W / s);
  const levelHeight = Math.ceil(H / s);
  const at = (region: string, size: string, width: number, height: number): ClientUrl => ({ url: `${base}/${region}/${size}/0/default.jpg`, width, height });
  if (levelWidth < tw && levelHeight < th) {
    return levelWidth === W ? at('full', v3 ? 'max' : 'full', W, H) : at('full', v3 ? `${levelWidth},${levelHeight}` : `${levelWidth},`, levelWidth, levelHeight);
  }
  const rx = x * tw * s;
  const ry = y * th * s;
  const rw = Math.min(tw * s, W - rx);
  const rh = Math.min(th * s, H - ry);
  const sw = Math.min(tw, levelWidth - x * tw);
  const sh = Math.min(th, levelHeight - y * th);
  const region = rx === 0 && ry === 0 && rw === W && rh === H ? 'full' : `${rx},${ry},${rw},${rh}`;
  if (v3 && sw === W && sh === H) return at(region, 'max', W, H);
  // 2.x says `full` whenever the tile is as wide as the image (one column at full resolution).
  if (!v3 && sw === W) return at(region, 'full', sw, sh);
  return at(region, v3 ? `${sw},${sh}` : `${sw},`, sw, sh);
}

export function clientUrls(info: Info): ClientUrl[] {
  const v3 = typeof info.id === 'string';
  const base = String(v3 ? info.id : info['@id']);
  const W = Number(info.width);
  const H = Number(info.height);
  const urls = new Map<string, ClientUrl>();
  const add = (region: string, size: string, width: number, height: number) => {
    const url = `${base}/${region}/${size}/0/default.jpg`;
    urls.set(url, { url, width, height });
  };
  const maxArea = v3 ? info.maxArea : (Array.isArray(info.profile) ? (info.profile[1] as { maxArea?: number })?.maxArea : undefined);

  for (const tiles of info.tiles ?? []) {
    const tw = tiles.width;
    const th = tiles.height ?? tiles.width;
    for (const s of tiles.scaleFactors) {
      const levelWidth = Math.ceil(W / s);
      const levelHeight = Math.ceil(H / s);
      // OpenSeadragon
      const columns = levelWidth < tw && levelHeight < th ? 1 : Math.ceil(levelWidth / tw);
      const rows = levelWidth < tw && levelHeight < th ? 1 : Math.ceil(levelHeight / th);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < columns; x++) {
          const tile = openSeadragonTile({ base, v3, width: W, height: H, tileWidth: tw, tileHeight: th }, s, x, y);
          urls.set(tile.url, tile);
        }
      }
      // Leaflet-IIIF
      for (let ry = 0; ry < H; ry += tw * s) {
        for (let rx = 0; rx < W; rx += tw * s) {
          const rw = Math.min(rx + tw * s, W) - rx;
          const rh = Math.min(ry + tw * s, H) - ry;
          const sw = Math.ceil(rw / s);
          const sh = Math.ceil(rh / s);
          add(`${rx},${ry},${rw},${rh}`, v3 ? `${sw},${sh}` : `${sw},`, sw, sh);
        }
      }
    }
  }
  for (const size of info.sizes ?? []) {
    add('full', v3 ? `${size.width},${size.height}` : `${size.width},`, size.width, size.height);
    // Mirador's thumbnail factory asks for `w,h` from `sizes` whatever the version.
    add('full', `${size.width},${size.height}`, size.width, size.height);
  }
  let max = { width: W, height: H };
  if (maxArea && W * H > maxArea) {
    const scale = Math.sqrt(maxArea / (W * H));
    max = { width: Math.floor(W * scale), height: Math.floor(H * scale) };
  }
  add('full', 'max', max.width, max.height);
  // 2.x `full` is the full size, which exists only within the limits (above them the spec's answer is an error).
  if (!v3 && max.width === W && max.height === H) add('full', 'full', W, H);
  return [...urls.values()];
}

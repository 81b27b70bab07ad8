/**
 * Rendering a level-0 pyramid from a master with sharp (libvips dzsave, IIIF 3 layout) and the whole-image sizes
 * (`sizes` and `full/max`) assembled from the pyramid's own levels.
 *
 * One decode of the master: orientation, alpha flattening, colour management to 8-bit sRGB through the embedded
 * ICC profile, and tiling happen in one streaming libvips pipeline, so memory follows libvips' needs rather than
 * the master's size. The sizes are then built from tiles (a level is a fraction of the master), not by decoding
 * the master again.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import sharp, { type JpegOptions, type Sharp } from 'sharp';
import { derivativeExif, derivativeXmp, type EmbeddedMetadata } from '../core/embedded-metadata.ts';
import {
  allTiles,
  levelSize,
  maxSizeFor,
  scaleFactorsFor,
  sizesFor,
  tilesAt,
  type Size,
  type SizeLimits,
} from '../core/pyramid.ts';
import { tileAliases } from '../core/static-paths.ts';
import { MasterRejectedError, rejectionReason, type Master, type MasterDescription } from './master.ts';

export interface PyramidOptions {
  tileSize: number;
  jpegQuality: number;
  limits: SizeLimits;
  maxInputPixels: number;
}

export interface RenderedFile {
  /** Path relative to the pyramid root, in IIIF 3 URL form: `{region}/{size}/0/default.jpg`. */
  path: string;
  bytes: number;
}

export interface RenderedPyramid {
  root: string;
  width: number;
  height: number;
  tileSize: number;
  scaleFactors: number[];
  sizes: Size[];
  maxSize: Size;
  files: RenderedFile[];
  /** Milliseconds spent on the tile pass (decode, colour, tiles) and on the sizes and `full/max` after it. */
  timings: { tilesMs: number; sizesMs: number };
}

/** White: the conventional ground for cut-out museum objects when alpha has to go (JPEG has none). */
const FLATTEN_BACKGROUND = { r: 255, g: 255, b: 255 };

export async function renderPyramid(master: Master, workDir: string, options: PyramidOptions): Promise<RenderedPyramid> {
  const { width, height } = master;
  const { tileSize } = options;
  const root = join(workDir, 'pyramid');
  const scaleFactors = scaleFactorsFor(width, height, tileSize);

  const decoded = sharp(master.input, {
    page: master.page,
    limitInputPixels: options.maxInputPixels,
    failOn: 'error',
    unlimited: false,
  }).autoOrient();
  const pipeline = withDerivativeMetadata(inDerivativeColour(decoded, master.description), master.embedded)
    .jpeg(jpegOptions(options))
    .tile({ size: tileSize, overlap: 0, layout: 'iiif3' });
  const started = performance.now();
  try {
    await pipeline.toFile(root);
  } catch (error) {
    throw new MasterRejectedError(rejectionReason(error));
  }
  // dzsave writes its own info.json (without sizes) and a properties file beside the tree; neither is published.
  await rm(join(root, 'info.json'), { force: true });
  await rm(join(workDir, 'vips-properties.xml'), { force: true });
  await rm(join(root, 'vips-properties.xml'), { force: true });

  const tiles = allTiles(width, height, tileSize);
  const expected = new Set(tiles.map((t) => tilePath(t.regionParam, t.size)));
  const written = await listFiles(root);
  const unexpected = written.filter((f) => !expected.has(f));
  const missing = [...expected].filter((f) => !written.includes(f));
  if (unexpected.length || missing.length) {
    // Our pyramid maths and libvips disagree: a bug, never the uploader's fault, so not a MasterRejectedError.
    throw new Error(`tile layout mismatch: missing ${missing.slice(0, 3).join(', ')}; unexpected ${unexpected.slice(0, 3).join(', ')}`);
  }

  const tilesDone = performance.now();

  // Names some clients use that dzsave does not write (see tileAliases): a handful of small files at most.
  for (const alias of tileAliases(tiles)) {
    const image = sharp(join(root, `${alias.from}/0/default.jpg`)).resize(alias.size.width, alias.size.height, { fit: 'fill' });
    await encode(image, master.embedded, options, join(root, `${alias.to}/0/default.jpg`));
  }

  const maxSize = maxSizeFor(width, height, options.limits);
  // `max` already serves the largest size within the limits; listing it again would store it twice.
  const sizes = sizesFor(width, height, scaleFactors, options.limits).filter(
    (s) => s.width !== maxSize.width || s.height !== maxSize.height,
  );
  const fullPaths = new Set(written.filter((f) => f.startsWith('full/')));
  // Independent renders from the tiles, run together: each alone leaves a core idle part of the time.
  const renders: Promise<void>[] = [];
  for (const size of sizes) {
    const path = tilePath('full', size);
    if (fullPaths.has(path)) continue; // the one-tile level, written by dzsave
    const s = scaleFactors.find((f) => levelSize(width, height, f).width === size.width && levelSize(width, height, f).height === size.height)!;
    renders.push(encode(assembleLevel(root, width, height, tileSize, s), master.embedded, options, join(root, path)));
  }
  const source = smallestLevelCovering(width, height, scaleFactors, maxSize);
  let max = assembleLevel(root, width, height, tileSize, source);
  const sourceSize = levelSize(width, height, source);
  if (sourceSize.width !== maxSize.width || sourceSize.height !== maxSize.height) {
    max = max.resize(maxSize.width, maxSize.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  renders.push(encode(max, master.embedded, options, join(root, 'full/max/0/default.jpg')));
  await Promise.all(renders);

  const files: RenderedFile[] = [];
  for (const path of await listFiles(root)) files.push({ path, bytes: (await stat(join(root, path))).size });
  const timings = { tilesMs: Math.round(tilesDone - started), sizesMs: Math.round(performance.now() - tilesDone) };
  return { root, width, height, tileSize, scaleFactors, sizes, maxSize, files, timings };
}

export function tilePath(region: string, size: Size): string {
  return `${region}/${size.width},${size.height}/0/default.jpg`;
}

/** One pyramid level as a single image, joined from its tiles. */
export function assembleLevel(root: string, width: number, height: number, tileSize: number, scaleFactor: number): Sharp {
  const tiles = tilesAt(width, height, tileSize, scaleFactor);
  const level = levelSize(width, height, scaleFactor);
  if (tiles.length === 1) return sharp(join(root, tilePath(tiles[0]!.regionParam, tiles[0]!.size)));
  const across = Math.ceil(width / (tileSize * scaleFactor));
  // join places every tile in a cell as large as the largest tile; edge tiles are smaller, so crop the padding.
  return sharp(
    tiles.map((t) => join(root, tilePath(t.regionParam, t.size))),
    { join: { across } },
  ).extract({ left: 0, top: 0, width: level.width, height: level.height });
}

function smallestLevelCovering(width: number, height: number, scaleFactors: readonly number[], size: Size): number {
  let chosen = 1;
  for (const s of scaleFactors) {
    const level = levelSize(width, height, s);
    if (level.width >= size.width && level.height >= size.height) chosen = s;
  }
  return chosen;
}

/**
 * The master's pixels as every derivative shows them: alpha flattened onto white (JPEG has none), and colour in 8-bit
 * sRGB. Masters with an ICC profile, and CMYK ones (which have no meaning without one), are colour-managed into sRGB
 * and tagged with a compact sRGB profile. An untagged RGB or grey master is sRGB by the web's convention: its
 * derivatives stay untagged like the master, which spares an identity transform over every pixel (measured: a
 * quarter of a second per 100 MP). The Image API applies the same to regions it reads from a TIFF master
 * (imaging/master-region.ts), so those agree with the tiles.
 */
export function inDerivativeColour(pipeline: Sharp, master: Pick<MasterDescription, 'hasAlpha' | 'iccProfile' | 'colourSpace'>): Sharp {
  const flat = master.hasAlpha ? pipeline.flatten({ background: FLATTEN_BACKGROUND }) : pipeline;
  return master.iccProfile || master.colourSpace === 'cmyk' ? flat.toColourspace('srgb').withIccProfile('srgb') : flat.toColourspace('srgb');
}

/** The master's rights fields (EXIF and XMP), carried into every derivative. */
function withDerivativeMetadata(pipeline: Sharp, embedded: EmbeddedMetadata): Sharp {
  let out = pipeline;
  const exif = derivativeExif(embedded);
  if (Object.keys(exif).length) out = out.withExif({ IFD0: exif });
  const xmp = derivativeXmp(embedded);
  if (xmp) out = out.withXmp(xmp);
  return out;
}

/**
 * An image made from our own tiles keeps their profile untouched: they are sRGB already, and converting them again
 * would cost a needless ICC transform (measured: it doubles the time to make `full/max`).
 */
async function encode(image: Sharp, embedded: EmbeddedMetadata, options: PyramidOptions, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await withDerivativeMetadata(image.keepIccProfile(), embedded).jpeg(jpegOptions(options)).toFile(path);
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * Baseline JPEG without Huffman optimisation: sharp's mozjpeg build makes `optimiseCoding` cost about four times
 * the encode time (measured: 1.6 s vs 0.4 s for 100 MP) for files about 5 % smaller. libvips' own dzsave and
 * Cantaloupe do not optimise either; ingest time matters more than 5 % on tiles served from a CDN cache.
 */
function jpegOptions(options: PyramidOptions): JpegOptions {
  return { quality: options.jpegQuality, optimiseCoding: false, chromaSubsampling: '4:2:0' };
}

/**
 * The size-limited version of a restricted-size image (its Auth 2.0 substitute): the whole image scaled to `size`
 * from the pyramid just rendered (never the master again), then given its own small pyramid and sizes, so it is a
 * complete image service anyone may use. Its limits are its own size: nothing larger can be asked of it.
 */
export async function renderSubstitute(rendered: RenderedPyramid, size: Size, master: Master, workDir: string, options: PyramidOptions): Promise<RenderedPyramid> {
  const dir = join(workDir, 'substitute');
  await mkdir(dir, { recursive: true });
  const source = smallestLevelCovering(rendered.width, rendered.height, rendered.scaleFactors, size);
  const input = join(dir, 'source.tif');
  // Lossless in between: the tiles' JPEG loss is the only loss, as for every other size.
  await assembleLevel(rendered.root, rendered.width, rendered.height, rendered.tileSize, source)
    .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
    .tiff({ compression: 'lzw' })
    .toFile(input);
  const scaled: Master = {
    input,
    page: 0,
    width: size.width,
    height: size.height,
    // The tiles are sRGB already (see inDerivativeColour): nothing to flatten or convert again.
    description: { ...master.description, format: 'tiff', width: size.width, height: size.height, pages: 1, page: 0, orientation: 1, hasAlpha: false, colourSpace: 'srgb', iccProfile: undefined },
    embedded: master.embedded,
  };
  return renderPyramid(scaled, dir, { ...options, limits: { maxWidth: size.width, maxHeight: size.height } });
}

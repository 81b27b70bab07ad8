/**
 * Renders a dynamic Image API response from the stored pyramid (see core/render-plan.ts for which tiles): lay the
 * overlapping tiles of one level on a canvas, cut the region out, resize, mirror, rotate, apply the quality and
 * encode. Each step works on an image no larger than a few tiles or the output, so memory follows the output.
 */
import sharp, { type Sharp } from 'sharp';
import { derivativeExif, derivativeXmp, type EmbeddedMetadata } from '../core/embedded-metadata.ts';
import type { ImageFormat, Quality } from '../core/image-request.ts';
import type { RenderPlan } from '../core/render-plan.ts';

/** What happens after region and size: mirroring, rotation, quality and the encoding, with the master's rights fields. */
export interface FinishOptions {
  rotation: { degrees: number; mirror: boolean };
  quality: Quality;
  format: ImageFormat;
  jpegQuality: number;
  /** The master's rights fields, carried into the response like into the tiles. */
  embedded?: EmbeddedMetadata;
}

export interface RenderOptions extends FinishOptions {
  plan: RenderPlan;
  /** Reads one stored tile of the plan by its path under the revision. */
  fetchTile: (path: string) => Promise<Uint8Array>;
  /** Parallel tile reads. */
  concurrency?: number;
}

/** White under JPEG's missing alpha, as for flattened masters; transparency where the format has alpha. */
const OPAQUE_BACKGROUND = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };
const FORMATS_WITH_ALPHA: ReadonlySet<ImageFormat> = new Set(['png', 'webp', 'tif', 'gif']);

export async function renderFromPyramid(options: RenderOptions): Promise<Buffer> {
  const { plan } = options;
  const tiles = (await fetchAll(plan.tiles.map((t) => t.path), options.fetchTile, options.concurrency ?? 16)).map((t) =>
    Buffer.from(t.buffer, t.byteOffset, t.byteLength),
  );
  const across = plan.tiles.filter((t) => t.top === plan.tiles[0]!.top).length;
  const { x, y, w, h } = plan.extract;
  // `join` lays the tiles out row by row in cells as large as the largest tile; only the image's last column and
  // row are narrower, so their padding lies outside the extract. The tiles' own profile is kept, not converted:
  // they are sRGB already, and a transform over the canvas would cost more than the rest.
  const level = (tiles.length === 1 ? sharp(tiles[0]!) : sharp(tiles, { join: { across } }))
    .keepIccProfile()
    .extract({ left: x, top: y, width: w, height: h })
    .resize(plan.size.width, plan.size.height, { fit: 'fill', kernel: w === plan.size.width && h === plan.size.height ? 'nearest' : 'lanczos3' });
  return finishAndEncode(level, options);
}

/**
 * Mirror, rotate, apply the quality and encode an image already cut to the region and sized: 8-bit sRGB, tagged
 * with an sRGB profile or untagged like the tiles. Shared by the pyramid and the master (imaging/master-region.ts).
 */
export async function finishAndEncode(sized: Sharp, options: FinishOptions): Promise<Buffer> {
  const degrees = options.rotation.degrees % 360;
  const colour = options.quality === 'default' || options.quality === 'color';
  if (degrees === 0 && !options.rotation.mirror && colour) return encode(sized, options, 'keep');

  // Mirroring, rotation and quality act on the sized image (Image API order: region, size, rotation, quality).
  const raw = await sized.raw().toBuffer({ resolveWithObject: true });
  let image: Sharp = sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } });
  if (options.rotation.mirror) image = image.flop();
  if (degrees !== 0) {
    const alpha = FORMATS_WITH_ALPHA.has(options.format) && degrees % 90 !== 0;
    if (alpha) image = image.ensureAlpha();
    image = image.rotate(degrees, { background: alpha ? TRANSPARENT : OPAQUE_BACKGROUND });
  }
  if (options.quality === 'gray') image = image.grayscale();
  if (options.quality === 'bitonal') image = image.threshold(128, { grayscale: true });
  return encode(image, options, colour ? 'tag' : 'none');
}

/**
 * `keep`: the image's own profile (sRGB, or none for untagged masters, like the tiles); `tag`: pixels that went
 * through a raw step, tagged sRGB; `none`: grey and bitonal outputs stay untagged.
 */
function encode(image: Sharp, options: FinishOptions, profile: 'keep' | 'tag' | 'none'): Promise<Buffer> {
  let out = options.format === 'gif' || profile === 'none' ? image : profile === 'keep' ? image.keepIccProfile() : image.withIccProfile('srgb');
  if (options.embedded && options.format !== 'gif') {
    const exif = derivativeExif(options.embedded);
    if (Object.keys(exif).length) out = out.withExif({ IFD0: exif });
    const xmp = derivativeXmp(options.embedded);
    if (xmp) out = out.withXmp(xmp);
  }
  switch (options.format) {
    case 'jpg':
      return out.jpeg({ quality: options.jpegQuality, optimiseCoding: false }).toBuffer();
    case 'png':
      return out.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
    case 'webp':
      return out.webp({ quality: options.jpegQuality }).toBuffer();
    case 'tif':
      // Lossless: integrators ask for TIFF to process further.
      return out.tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer();
    case 'gif':
      return out.gif().toBuffer();
  }
}

async function fetchAll(paths: readonly string[], fetch: (path: string) => Promise<Uint8Array>, concurrency: number): Promise<Uint8Array[]> {
  const results: Uint8Array[] = new Array<Uint8Array>(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      results[i] = await fetch(paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}

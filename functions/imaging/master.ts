/**
 * Opening a master: recognise the format from its bytes (never its name), pick the page, enforce the pixel limit,
 * and read its embedded metadata. Formats sharp's prebuilt libvips cannot decode (JPEG 2000, HEVC-coded HEIC) are
 * decoded by a WebAssembly decoder into a lossless intermediate TIFF carrying the master's ICC profile, so every
 * master then goes through one and the same sharp pipeline.
 *
 * Anything wrong with the file itself throws {@link MasterRejectedError} with a reason meant for the uploader;
 * every other error is an operational fault and is retried.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import exifReader from 'exif-reader';
import {
  fromExif,
  fromIptc,
  fromXmp,
  mergeEmbeddedMetadata,
  type EmbeddedMetadata,
} from '../core/embedded-metadata.ts';
import { iccProfileName } from '../core/icc.ts';
import { decodeForeignImage, sniffForeignFormat, type ForeignFormat } from './foreign-decoders.ts';
import { writeTaggedTiff } from './tiff-writer.ts';

export { MasterRejectedError } from './errors.ts';
import { MasterRejectedError } from './errors.ts';

export interface MasterDescription {
  format: string;
  width: number;
  height: number;
  pages: number;
  page: number;
  orientation?: number;
  colourSpace: string;
  bitsPerSample: number;
  hasAlpha: boolean;
  iccProfile?: string;
}

export interface Master {
  /** The file sharp reads: the master itself, or the intermediate TIFF of a foreign format. */
  input: string;
  page: number;
  /** Size after EXIF orientation: the size of the published image. */
  width: number;
  height: number;
  description: MasterDescription;
  embedded: EmbeddedMetadata;
}

export interface OpenOptions {
  maxInputPixels: number;
  /** Where an intermediate file may be written. */
  workDir: string;
}

/** Pages inspected when choosing the largest; beyond this a multi-page file is read from its first pages only. */
const MAX_PAGES_INSPECTED = 64;

export async function openMaster(path: string, size: number, options: OpenOptions): Promise<Master> {
  if (size === 0) throw new MasterRejectedError('the file is empty (0 bytes)');
  const head = await readHead(path, 64);
  const foreign = sniffForeignFormat(head);
  if (foreign) return openForeign(path, foreign, options);

  const first = await readMetadata(path, 0);
  if (first.format === 'heif' && first.compression === 'hevc') {
    // libheif decodes the primary image: take the header (ICC profile, XMP, EXIF) from that one too.
    const primary = first.pagePrimary ? await readMetadata(path, first.pagePrimary) : first;
    return openForeign(path, 'heic', options, primary);
  }

  // Multi-page files: the largest page, the first of equals. For pyramidal TIFFs that is the full-resolution
  // level; for scanned documents and animations, the first page or frame.
  const pages = first.pages ?? 1;
  let page = 0;
  let chosen = first;
  if (pages > 1 && first.format === 'tiff') {
    for (let p = 1; p < Math.min(pages, MAX_PAGES_INSPECTED); p++) {
      const candidate = await readMetadata(path, p);
      if (area(candidate) > area(chosen)) {
        chosen = candidate;
        page = p;
      }
    }
  }
  return describe(path, page, pages, chosen, options);
}

async function openForeign(path: string, format: ForeignFormat, options: OpenOptions, header?: Metadata): Promise<Master> {
  // The decoders raise MasterRejectedError for anything wrong with the file; other errors are faults to retry.
  let decoded = await decodeForeignImage(format, await readFile(path), options.maxInputPixels);
  // libvips reads a HEIF's ICC profile and XMP from its header although it cannot decode HEVC; libheif-js gives pixels only.
  if (header?.icc) decoded = { ...decoded, icc: header.icc };
  if (header?.xmp) decoded = { ...decoded, xmp: header.xmp };
  // Lossless, tagged with the master's ICC profile and XMP: from here on a foreign master is an ordinary TIFF.
  const intermediate = join(options.workDir, 'master-decoded.tif');
  await writeTaggedTiff(intermediate, decoded);
  const metadata = await readMetadata(intermediate, 0);
  // The master's EXIF still names its creator and rights; its Orientation does not apply to the decoded pixels
  // (libheif has rotated them already), and describe() takes the orientation from the intermediate, which has none.
  const master = await describe(intermediate, 0, 1, header?.exif ? { ...metadata, exif: header.exif } : metadata, options);
  return { ...master, description: { ...master.description, format: format === 'heic' ? 'heif' : 'jp2' } };
}

async function describe(input: string, page: number, pages: number, m: Metadata, options: OpenOptions): Promise<Master> {
  const width = m.width;
  const height = m.height;
  if (!width || !height) throw new MasterRejectedError('the image has no dimensions (corrupt header)');
  if (width * height > options.maxInputPixels) {
    throw new MasterRejectedError(
      `the image is ${width}×${height} = ${megapixels(width * height)} megapixels, above the limit of ` +
        `${megapixels(options.maxInputPixels)} megapixels (IMAGEHUB_MAX_INPUT_PIXELS)`,
    );
  }
  let exif;
  try {
    exif = m.exif ? exifReader(m.exif) : undefined;
  } catch {
    exif = undefined; // unreadable EXIF is not a reason to refuse the pixels
  }
  const embedded = mergeEmbeddedMetadata(fromXmp(m.xmp), fromIptc(m.iptc), fromExif(exif));
  const oriented = m.autoOrient ?? { width, height };
  const description: MasterDescription = {
    format: m.format ?? 'unknown',
    width,
    height,
    pages,
    page,
    colourSpace: m.space ?? 'unknown',
    bitsPerSample: bitsOf(m.depth),
    hasAlpha: m.hasAlpha ?? false,
  };
  if (m.orientation) description.orientation = m.orientation;
  // A profile without a readable name still governs the colours: record it so the pixels are colour-managed.
  if (m.icc?.length) description.iccProfile = iccProfileName(m.icc) ?? 'unnamed ICC profile';
  return { input, page, width: oriented.width, height: oriented.height, description, embedded };
}

async function readMetadata(path: string, page: number): Promise<Metadata> {
  try {
    // Metadata reads headers only; the pixel limit is checked against the chosen page, and decoding happens later.
    return await sharp(path, { page, limitInputPixels: false }).metadata();
  } catch (error) {
    throw new MasterRejectedError(rejectionReason(error));
  }
}

/** A libvips error turned into a sentence for the person who uploaded the file. */
export function rejectionReason(error: unknown): string {
  const message = messageOf(error);
  if (/unsupported image format/i.test(message)) return 'not a supported image format (the bytes are not a JPEG, TIFF, PNG, WebP, GIF, AVIF, HEIC or JPEG 2000 image)';
  if (/exceeds pixel limit/i.test(message)) return `the image exceeds the pixel limit (IMAGEHUB_MAX_INPUT_PIXELS): ${message}`;
  if (/premature end|truncated|unexpected end|read error|short read|not enough data/i.test(message)) return `the file is truncated or damaged: ${firstLine(message)}`;
  if (/corrupt header/i.test(message)) return `the file has a corrupt header: ${firstLine(message)}`;
  return `the image could not be decoded: ${firstLine(message)}`;
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const area = (m: Metadata) => (m.width ?? 0) * (m.height ?? 0);
const megapixels = (pixels: number) => (pixels / 1e6).toFixed(pixels < 1e7 ? 2 : 0);
const bitsOf = (depth: string | undefined) => (depth === 'ushort' || depth === 'short' ? 16 : depth === 'float' || depth === 'uint' || depth === 'int' ? 32 : 8);
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
/** libvips repeats itself and names our temp files; keep each distinct line once, without paths. */
const firstLine = (message: string) =>
  [...new Set(message.split('\n').map((l) => l.replace(/\/\S*\/(master|master-decoded\.tif)(:|\b)\s*/g, '').trim()).filter(Boolean))]
    .join(' — ')
    .slice(0, 300);

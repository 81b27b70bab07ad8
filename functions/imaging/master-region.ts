/**
 * A region of a TIFF master, read from the master itself by byte ranges: the header, the directory of the page and
 * the strips or tiles under the region, never the whole file. geotiff parses the TIFF and decodes uncompressed,
 * LZW, deflate and PackBits blocks; JPEG-compressed blocks are decoded by libjpeg-turbo through sharp, the decoder
 * libvips used at ingest, so their pixels are the ones the tiles were made from.
 *
 * The samples are then written as a small uncompressed TIFF carrying the master's own photometric interpretation,
 * extra-sample and ICC tags, so libvips reads the region exactly as it read the whole master at ingest, and the
 * ingest's colour recipe (pyramid.ts, inDerivativeColour) and the Image API's finishing step (mirror, rotate,
 * quality, encode: render-from-pyramid.ts, finishAndEncode) apply unchanged.
 *
 * Whatever this reader does not handle, or would have to read too much of, throws {@link MasterRegionUnavailable}:
 * the caller answers from the pyramid instead.
 */
import sharp from 'sharp';
import { addDecoder, BaseDecoder, GeoTIFF, type GeoTIFFImage, type ImageFileDirectory } from 'geotiff';
import type { SourceDescription } from '../core/image-item.ts';
import type { Region } from '../core/pyramid.ts';
import { inDerivativeColour } from './pyramid.ts';
import { finishAndEncode, type FinishOptions } from './render-from-pyramid.ts';
import { encodeTaggedTiff, PHOTOMETRIC, type Photometric } from './tiff-writer.ts';

/** Random access to the master's bytes: a local file in tests, ranged S3 GETs in production. */
export interface RangeSource {
  /** The file's size in bytes. */
  size: number;
  /** Exactly `length` bytes from `offset` (the caller never asks beyond the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface MasterRegionRequest {
  /** The TIFF directory (page) the ingest chose, as sharp counts them. */
  page: number;
  /** In the master's stored pixel grid, before any EXIF orientation. */
  region: Region;
}

export interface MasterRegionLimits {
  /** Bytes of the master one request may read, header and directories included. */
  maxBytesRead: number;
  /** Bytes the touched strips or tiles hold once decoded (a narrow crop of a striped master decodes whole rows). */
  maxDecodedBytes: number;
}

/**
 * 64 MiB read keeps a request within a second or two of S3 transfer. 128 MiB decoded bounds the JavaScript
 * decoders' time: the slowest, LZW, decodes ~15 MB/s (measured: 4096² from an 8000-wide striped LZW master, 98 MB
 * decoded, 7 s), well inside API Gateway's 29 s.
 */
export const MASTER_REGION_LIMITS: MasterRegionLimits = { maxBytesRead: 64 * 2 ** 20, maxDecodedBytes: 128 * 2 ** 20 };

export interface MasterRegion {
  width: number;
  height: number;
  /** Colour samples plus at most one alpha sample, interleaved. */
  channels: number;
  bitsPerSample: 8 | 16;
  data: Uint8Array | Uint16Array;
  /** The master's ICC profile (TIFF tag 34675), when it has one. */
  icc?: Uint8Array;
  /** How the samples are to be read: grey (min-is-white or min-is-black), RGB or CMYK. */
  photometric: Photometric;
  /** The master's ExtraSamples value of its alpha sample. */
  extraSample?: 0 | 1 | 2;
  /** What it cost: bytes read from the master and the number of ranged reads. */
  bytesRead: number;
  reads: number;
}

/** This region cannot (or should not) be read from the master; the reason is for logs. Answer from the pyramid. */
export class MasterRegionUnavailable extends Error {
  override name = 'MasterRegionUnavailable';
}

const TAG_ICC_PROFILE = 34675;
/** Compressions read here: none, LZW, JPEG (restricted below), deflate (both codes), PackBits. */
const COMPRESSIONS = new Set([1, 5, 7, 8, 32946, 32773]);
const JPEG = 7;
const YCBCR = 6;

export async function readMasterRegion(
  source: RangeSource,
  request: MasterRegionRequest,
  limits: MasterRegionLimits = MASTER_REGION_LIMITS,
): Promise<MasterRegion> {
  const reader = new RangeReader(source, limits.maxBytesRead);
  let tiff: GeoTIFF;
  let image: GeoTIFFImage;
  try {
    tiff = await GeoTIFF.fromSource(reader);
    image = await tiff.getImage(request.page);
  } catch (error) {
    // A failed read (storage, the master replaced, the budget) is itself the reason; anything else is geotiff's.
    throw reader.failure ?? new MasterRegionUnavailable(`geotiff cannot open page ${request.page} of the master: ${messageOf(error)}`);
  }
  const directory = image.getFileDirectory();
  if (!tiff.littleEndian && directory.deferredArrays.size > 0) {
    // geotiff 3.0.5 reads array tags that lie outside the first kilobyte of a directory as little-endian whatever
    // the file's byte order (geotiffjs/geotiff.js#535, fixed upstream in #536 after 3.0.5): offsets would be wrong.
    throw new MasterRegionUnavailable('big-endian TIFF whose offset tables geotiff 3.0.5 would misread (geotiff.js#535)');
  }
  // geotiff reads these per-sample arrays synchronously: load them when they lie beyond the directory's first bytes.
  for (const tag of ['BitsPerSample', 'SampleFormat', 'ExtraSamples'] as const) {
    if (directory.deferredArrays.has(tagNumber(tag))) {
      directory.actualizedFields.set(tagNumber(tag), Array.from((await directory.loadValue(tag)) as ArrayLike<number>));
      directory.deferredArrays.delete(tagNumber(tag));
    }
  }
  const layout = await describeLayout(image, directory);
  const { x, y, w, h } = request.region;
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > image.getWidth() || y + h > image.getHeight()) {
    throw new MasterRegionUnavailable(`region ${x},${y},${w},${h} lies outside page ${request.page} (${image.getWidth()}×${image.getHeight()})`);
  }
  await assertWithinBudget(image, directory, request.region, layout.planes, limits);

  let data: Uint8Array | Uint16Array;
  try {
    const raster = await image.readRasters({ window: [x, y, x + w, y + h], interleave: true });
    if (!(raster instanceof Uint8Array || raster instanceof Uint16Array)) throw new Error(`unexpected sample array ${raster.constructor.name}`);
    data = raster;
  } catch (error) {
    throw reader.failure ?? new MasterRegionUnavailable(`geotiff could not decode the region: ${messageOf(error)}`);
  }
  const icc = directory.hasTag(TAG_ICC_PROFILE) ? ((await directory.loadValue(TAG_ICC_PROFILE)) as Uint8Array | undefined) : undefined;
  return {
    width: w,
    height: h,
    channels: layout.channels,
    bitsPerSample: layout.bitsPerSample,
    data,
    ...(icc?.length ? { icc } : {}),
    photometric: layout.photometric,
    ...(layout.extraSample !== undefined ? { extraSample: layout.extraSample } : {}),
    bytesRead: reader.bytesRead,
    reads: reader.reads,
  };
}

/**
 * The region as an answer: through the ingest's colour recipe (flattened onto white, 8-bit sRGB, tagged when the
 * master is tagged or CMYK) into a lossless intermediate that is what a tile would be without JPEG, then the
 * finishing step every Image API answer takes.
 */
export async function renderMasterRegion(
  region: MasterRegion,
  master: Pick<SourceDescription, 'hasAlpha' | 'iccProfile' | 'colourSpace'>,
  options: FinishOptions,
): Promise<Buffer> {
  const tiff = encodeTaggedTiff({
    width: region.width,
    height: region.height,
    channels: region.channels,
    bitsPerSample: region.bitsPerSample,
    // 16-bit samples in the machine's byte order, which is little-endian like the intermediate (x86, arm64).
    data: new Uint8Array(region.data.buffer, region.data.byteOffset, region.data.byteLength),
    ...(region.icc ? { icc: region.icc } : {}),
    photometric: region.photometric,
    ...(region.extraSample !== undefined ? { extraSample: region.extraSample } : {}),
  });
  const srgb = await inDerivativeColour(sharp(tiff, { failOn: 'error' }), master).tiff({ compression: 'none' }).toBuffer();
  return finishAndEncode(sharp(srgb), options);
}

interface Layout {
  channels: number;
  bitsPerSample: 8 | 16;
  photometric: Photometric;
  extraSample?: 0 | 1 | 2;
  /** Separate planes (PlanarConfiguration 2) are stored block by block per sample. */
  planes: number;
}

/** What this reader handles, from the directory's tags; anything else is unavailable. */
async function describeLayout(image: GeoTIFFImage, directory: ImageFileDirectory): Promise<Layout> {
  const refuse = (why: string): never => {
    throw new MasterRegionUnavailable(why);
  };
  const compression = Number(directory.getValue('Compression') ?? 1);
  if (!COMPRESSIONS.has(compression)) refuse(`TIFF compression ${compression} is not read from the master`);
  const channels = image.getSamplesPerPixel();
  const bits = numbers(directory.getValue('BitsPerSample'));
  const depth = bits[0];
  if (bits.length !== channels || (depth !== 8 && depth !== 16) || bits.some((b) => b !== depth)) {
    refuse(`bits per sample ${bits.join(',')} (only 8 or 16 bits, the same for every sample)`);
  }
  const formats = directory.hasTag('SampleFormat') ? numbers(directory.getValue('SampleFormat')) : [];
  if (formats.some((f) => f !== 1)) refuse(`sample format ${formats.join(',')} (only unsigned integers)`);
  const predictor = Number((await directory.loadValue('Predictor')) ?? 1);
  if (predictor !== 1 && predictor !== 2) refuse(`predictor ${predictor}`);
  const planar = image.planarConfiguration;

  const tiffPhotometric = Number(directory.getValue('PhotometricInterpretation'));
  let photometric: Photometric;
  let colours: number;
  switch (tiffPhotometric) {
    case PHOTOMETRIC.minIsWhite:
    case PHOTOMETRIC.minIsBlack:
      [photometric, colours] = [tiffPhotometric, 1];
      break;
    case PHOTOMETRIC.rgb:
      [photometric, colours] = [PHOTOMETRIC.rgb, 3];
      break;
    case PHOTOMETRIC.separated: {
      const inkSet = Number((await directory.loadValue('InkSet')) ?? 1);
      if (inkSet !== 1) refuse(`separated image with ink set ${inkSet} (only CMYK)`);
      [photometric, colours] = [PHOTOMETRIC.separated, 4];
      break;
    }
    case YCBCR:
      // Only inside JPEG, where libjpeg turns YCbCr into RGB as libvips has it read the master.
      if (compression !== JPEG) refuse('YCbCr samples outside JPEG compression');
      [photometric, colours] = [PHOTOMETRIC.rgb, 3];
      break;
    default:
      return refuse(`photometric interpretation ${tiffPhotometric} (palette, Lab and others are not read from the master)`);
  }
  if (compression === JPEG) {
    // libjpeg decodes 8-bit YCbCr, RGB and grey blocks as libtiff does (see LibjpegDecoder); CMYK-coded JPEG blocks
    // (inverted or not, by conventions libvips and libtiff apply differently) and alpha are left to the pyramid.
    const colour = (tiffPhotometric === YCBCR || tiffPhotometric === PHOTOMETRIC.rgb) && channels === 3;
    const grey = tiffPhotometric === PHOTOMETRIC.minIsBlack && channels === 1;
    if (depth !== 8 || planar !== 1 || !(colour || grey)) refuse(`JPEG-compressed photometric ${tiffPhotometric} with ${channels} samples`);
  }
  const extra = channels - colours;
  if (extra !== 0 && extra !== 1) refuse(`${channels} samples for ${colours} colour samples (at most one alpha)`);
  let extraSample: 0 | 1 | 2 | undefined;
  if (extra === 1) {
    const value = directory.hasTag('ExtraSamples') ? numbers(directory.getValue('ExtraSamples'))[0] : 0;
    if (value !== 0 && value !== 1 && value !== 2) refuse(`extra sample kind ${value}`);
    extraSample = value as 0 | 1 | 2;
  }
  return {
    channels,
    bitsPerSample: depth as 8 | 16,
    photometric,
    ...(extraSample !== undefined ? { extraSample } : {}),
    planes: planar === 2 ? channels : 1,
  };
}

/**
 * Before any pixel is read: the strips or tiles under the region, from the directory's byte counts, must be within
 * the read budget, and their decoded size within the decode budget.
 */
async function assertWithinBudget(image: GeoTIFFImage, directory: ImageFileDirectory, region: Region, planes: number, limits: MasterRegionLimits): Promise<void> {
  const blockWidth = image.getTileWidth();
  const blockHeight = image.getTileHeight();
  const across = Math.ceil(image.getWidth() / blockWidth);
  const down = Math.ceil(image.getHeight() / blockHeight);
  const counts = image.isTiled ? 'TileByteCounts' : 'StripByteCounts';
  const indices: number[] = [];
  for (let plane = 0; plane < planes; plane++) {
    for (let row = Math.floor(region.y / blockHeight); row < Math.ceil((region.y + region.h) / blockHeight); row++) {
      for (let column = Math.floor(region.x / blockWidth); column < Math.ceil((region.x + region.w) / blockWidth); column++) {
        indices.push(plane * across * down + row * across + column);
      }
    }
  }
  const decoded = indices.length * blockWidth * blockHeight * (image.getBytesPerPixel() / planes);
  if (decoded > limits.maxDecodedBytes) {
    throw new MasterRegionUnavailable(`the region's ${indices.length} blocks would decode to ${decoded} bytes, above ${limits.maxDecodedBytes}`);
  }
  const sizes = await Promise.all(indices.map((i) => directory.loadValueIndexed(counts, i)));
  const bytes = sizes.reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
  if (bytes > limits.maxBytesRead) {
    throw new MasterRegionUnavailable(`the region's ${indices.length} blocks hold ${bytes} bytes of the master, above ${limits.maxBytesRead}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ranged reads for geotiff

interface Slice {
  offset: number;
  length: number;
}

interface PendingRead {
  /** What was asked for. */
  start: number;
  end: number;
  /** What will be fetched: small reads are widened to whole blocks, which are kept for the next small read. */
  from: number;
  to: number;
  small: boolean;
  resolve: (data: ArrayBuffer) => void;
  reject: (error: unknown) => void;
}

/** Small reads (headers, directories, offset tables) are served from 64 KiB blocks kept for the request. */
const BLOCK = 64 * 1024;
/** Reads asked for in the same turn of the event loop are merged when at most this far apart... */
const MAX_GAP = 64 * 1024;
/** ...into ranges of at most this many bytes, ... */
const MAX_RANGE = 16 * 2 ** 20;
/** ...of which this many are read at once. */
const CONCURRENCY = 8;

/**
 * geotiff's data source (its BaseSource interface): every byte comes from {@link RangeSource.read}, counted against
 * the budget. geotiff asks for each strip or tile separately; asked in one turn, neighbours are merged into one
 * range (a striped master stores the strips of a region one after another), so a crop costs a few reads.
 */
class RangeReader {
  bytesRead = 0;
  reads = 0;
  /** The first read that failed (geotiff may wrap or replace the error it sees). */
  failure: unknown;
  private readonly blocks = new Map<number, Uint8Array>();
  private queue: PendingRead[] = [];

  constructor(
    private readonly source: RangeSource,
    private readonly maxBytes: number,
  ) {}

  get fileSize(): number {
    return this.source.size;
  }

  fetch(slices: Slice[]): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map((s) => this.read(s.offset, s.length)));
  }

  async fetchSlice(slice: Slice): Promise<Slice & { data: ArrayBuffer }> {
    return { ...slice, data: await this.read(slice.offset, slice.length) };
  }

  async close(): Promise<void> {}

  private read(offset: number, length: number): Promise<ArrayBuffer> {
    const start = Math.max(0, offset);
    const end = Math.min(offset + length, this.source.size);
    if (end <= start) return Promise.resolve(new ArrayBuffer(0));
    const small = end - start < BLOCK;
    if (small) {
      const cached = this.fromBlocks(start, end);
      if (cached) return Promise.resolve(cached);
    }
    const from = small ? Math.floor(start / BLOCK) * BLOCK : start;
    const to = small ? Math.min(Math.ceil(end / BLOCK) * BLOCK, this.source.size) : end;
    return new Promise((resolve, reject) => {
      this.queue.push({ start, end, from, to, small, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  private fromBlocks(start: number, end: number): ArrayBuffer | undefined {
    const out = new Uint8Array(end - start);
    for (let b = Math.floor(start / BLOCK); b * BLOCK < end; b++) {
      const block = this.blocks.get(b);
      if (!block) return undefined;
      const from = Math.max(start, b * BLOCK);
      const to = Math.min(end, b * BLOCK + block.length);
      out.set(block.subarray(from - b * BLOCK, to - b * BLOCK), from - start);
    }
    return out.buffer;
  }

  private async flush(): Promise<void> {
    const pending = this.queue.sort((a, b) => a.from - b.from);
    this.queue = [];
    const ranges: { from: number; to: number; reads: PendingRead[] }[] = [];
    for (const read of pending) {
      const last = ranges.at(-1);
      if (last && read.from <= last.to + MAX_GAP && Math.max(last.to, read.to) - last.from <= MAX_RANGE) {
        last.to = Math.max(last.to, read.to);
        last.reads.push(read);
      } else {
        ranges.push({ from: read.from, to: read.to, reads: [read] });
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < ranges.length) await this.fetchRange(ranges[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ranges.length) }, worker));
  }

  private async fetchRange(range: { from: number; to: number; reads: PendingRead[] }): Promise<void> {
    try {
      const length = range.to - range.from;
      if (this.bytesRead + length > this.maxBytes) {
        throw new MasterRegionUnavailable(`reading the region would take more than ${this.maxBytes} bytes of the master`);
      }
      this.bytesRead += length;
      this.reads += 1;
      const bytes = await this.source.read(range.from, length);
      if (bytes.length !== length) throw new Error(`asked for ${length} bytes of the master at ${range.from}, got ${bytes.length}`);
      for (const read of range.reads) {
        if (read.small) {
          for (let at = read.from; at < read.to; at += BLOCK) {
            this.blocks.set(at / BLOCK, copyOf(bytes, at - range.from, Math.min(at + BLOCK, read.to) - range.from));
          }
        }
        read.resolve(copyOf(bytes, read.start - range.from, read.end - range.from).buffer);
      }
    } catch (error) {
      this.failure ??= error;
      for (const read of range.reads) read.reject(error);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG blocks through libjpeg-turbo

type DecoderParameters = ConstructorParameters<typeof BaseDecoder>[0];

/**
 * JPEG-compressed strips and tiles decoded by sharp (libjpeg-turbo, as libvips decodes them at ingest) rather than
 * geotiff's own JavaScript decoder, which neither converts YCbCr to RGB nor upsamples chroma the way libjpeg does.
 * Registered for TIFF compression 7 in this process (geotiff's documented extension point).
 *
 * libtiff decides the colour transform from the TIFF's photometric interpretation, not from the JPEG stream:
 * YCbCr blocks are converted to RGB, RGB blocks are taken as they are. libjpeg decides from markers and component
 * ids instead, so the stream gets an Adobe marker that says what the TIFF says (any marker of its own is dropped).
 */
class LibjpegDecoder extends BaseDecoder {
  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBuffer> {
    const { JPEGTables: tables, photometric } = this.parameters as JpegParameters;
    const block = new Uint8Array(buffer);
    if (!startsWithSoi(block)) throw new Error('a JPEG block does not start with SOI');
    const parts: Uint8Array[] = [SOI];
    if (photometric !== PHOTOMETRIC.minIsBlack) parts.push(adobeMarker(photometric === YCBCR ? 1 : 0));
    // Abbreviated streams: the tables once in the directory (SOI…EOI), each block without them (SOI…EOI).
    if (tables && tables.length > 4 && startsWithSoi(tables)) parts.push(tables.subarray(2, endsWithEoi(tables) ? -2 : undefined));
    parts.push(withoutAdobeMarkers(block.subarray(2)));
    const channels = photometric === PHOTOMETRIC.minIsBlack ? 1 : 3;
    const { data, info } = await sharp(Buffer.concat(parts), { failOn: 'error' })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`a JPEG block decoded to ${info.channels} channels, not ${channels}`);
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }
}

type JpegParameters = DecoderParameters & { JPEGTables?: Uint8Array; photometric: number };

addDecoder(
  JPEG,
  () => Promise.resolve(LibjpegDecoder),
  async (directory) => {
    const tiled = !directory.hasTag('StripOffsets');
    const parameters: JpegParameters = {
      tileWidth: Number(await directory.loadValue(tiled ? 'TileWidth' : 'ImageWidth')),
      tileHeight: Number(await directory.loadValue(tiled ? 'TileLength' : 'RowsPerStrip')) || Number(await directory.loadValue('ImageLength')),
      planarConfiguration: Number((await directory.loadValue('PlanarConfiguration')) ?? 1),
      bitsPerSample: Array.from((await directory.loadValue('BitsPerSample')) as ArrayLike<number>),
      predictor: 1,
      photometric: Number(await directory.loadValue('PhotometricInterpretation')),
      JPEGTables: (await directory.loadValue('JPEGTables')) as Uint8Array | undefined,
    };
    return parameters;
  },
  false,
);

const SOI = Uint8Array.of(0xff, 0xd8);

/** APP14 "Adobe", version 100, no flags: transform 0 means RGB as stored, 1 means YCbCr. */
function adobeMarker(transform: 0 | 1): Uint8Array {
  return Uint8Array.of(0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform);
}

/** The marker segments before the scan, less any APP14, then the scan as it is. */
function withoutAdobeMarkers(segments: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= segments.length && segments[at] === 0xff) {
    const marker = segments[at + 1]!;
    if (marker === 0xda) break; // start of scan: entropy-coded data follows
    const length = 2 + ((segments[at + 2]! << 8) | segments[at + 3]!);
    if (marker !== 0xee) kept.push(segments.subarray(at, at + length));
    at += length;
  }
  kept.push(segments.subarray(at));
  return Buffer.concat(kept);
}

/** A copy with its own ArrayBuffer (a Node Buffer's `slice` is a view, and its `buffer` may be a shared pool). */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

const startsWithSoi = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8;
const endsWithEoi = (b: Uint8Array) => b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;

const TAG_NUMBERS = { BitsPerSample: 258, SampleFormat: 339, ExtraSamples: 338 } as const;
const tagNumber = (name: keyof typeof TAG_NUMBERS) => TAG_NUMBERS[name];

function numbers(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return [value];
  return Array.from(value as ArrayLike<number>, Number);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

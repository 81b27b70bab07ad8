/**
 * Decoders for master formats sharp's prebuilt libvips cannot read.
 *
 * JPEG 2000: OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg, from the npm registry, no native
 * build). It decodes the codestream; the JP2 boxes around it (colour specification with its ICC profile, XMP) are
 * read here. The build's WebAssembly heap is at most 2 GiB and OpenJPEG needs about 5.3 bytes per sample while
 * decoding (measured: an 11800² RGB image decodes, 12000² aborts), so masters whose estimate exceeds
 * {@link JP2_MAX_DECODE_BYTES} are refused with that reason (about 120 MP for RGB). The registry build decodes only
 * 1- or 3-component images; others are refused. An abort leaves the module unusable and its memory never
 * shrinks, so the module is dropped after a failure or a large decode.
 *
 * HEIC (HEVC-coded): refused with a reason. The prebuilt libvips reads its header but has no HEVC decoder, and
 * HEVC decoders carry patent licensing that a museum service should not take on silently. AVIF (AV1-coded HEIF)
 * is decoded by sharp itself.
 */
import { createRequire } from 'node:module';
import { MasterRejectedError } from './errors.ts';

export type ForeignFormat = 'jp2' | 'heic';

export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  bitsPerSample: 8 | 16;
  data: Buffer;
  icc?: Buffer;
  xmp?: Buffer;
}

/** Decoding budget within the 2 GiB WebAssembly heap, with headroom for the module itself. */
export const JP2_MAX_DECODE_BYTES = 1.9 * 2 ** 30;
const JP2_BYTES_PER_SAMPLE = 5.3;
/** Decodes above this leave a heap worth returning to the system: start a fresh module next time. */
const JP2_RECYCLE_PIXELS = 16_000_000;

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];
const J2K_SIGNATURE = [0xff, 0x4f, 0xff, 0x51];
const XMP_UUID = 'be7acfcb97a942e89c71999491e3afac';

/** JPEG 2000 is recognised from its signature; HEIC is recognised by sharp (format heif, compression hevc). */
export function sniffForeignFormat(head: Uint8Array): ForeignFormat | undefined {
  const startsWith = (sig: number[]) => sig.every((b, i) => head[i] === b);
  if (startsWith(JP2_SIGNATURE) || startsWith(J2K_SIGNATURE)) return 'jp2';
  return undefined;
}

export async function decodeForeignImage(format: ForeignFormat, bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  if (format === 'heic') {
    throw new MasterRejectedError(
      'HEIC images coded with HEVC are not supported (no HEVC decoder is available); export the master as TIFF, JPEG or AVIF',
    );
  }
  return decodeJpeg2000(bytes, maxPixels);
}

interface J2KFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader(): void;
  decode(): void;
  getFrameInfo(): J2KFrameInfo;
  delete(): void;
}

interface OpenJpegModule {
  J2KDecoder: new () => J2KDecoder;
}

let openjpeg: Promise<OpenJpegModule> | undefined;

function loadOpenJpeg(): Promise<OpenJpegModule> {
  // One module per process: its WebAssembly memory grows as needed and is reused by later decodes.
  openjpeg ??= (() => {
    const require = createRequire(import.meta.url);
    const factory = require('@cornerstonejs/codec-openjpeg/decodewasmjs') as (options: Record<string, unknown>) => Promise<OpenJpegModule>;
    return factory({ print: () => undefined, printErr: () => undefined });
  })();
  return openjpeg;
}

export async function decodeJpeg2000(bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  const boxes = readJp2Boxes(bytes);
  const module = await loadOpenJpeg();
  const decoder = new module.J2KDecoder();
  let recycle = false;
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    // The decoder's frame info is only filled in by decode(): read the size from the codestream to refuse first.
    const header = codestreamHeader(bytes, boxes.codestream ?? 0);
    const pixels = header.width * header.height;
    if (header.componentCount !== 1 && header.componentCount !== 3) {
      throw new MasterRejectedError(`JPEG 2000 images with ${header.componentCount} components (alpha) are not supported; provide a TIFF or PNG master`);
    }
    const limit = Math.min(maxPixels, Math.floor(JP2_MAX_DECODE_BYTES / (header.componentCount * JP2_BYTES_PER_SAMPLE)));
    if (pixels > limit) {
      throw new MasterRejectedError(
        `the JPEG 2000 image is ${header.width}×${header.height} = ${(pixels / 1e6).toFixed(0)} megapixels, above the ` +
          `${(limit / 1e6).toFixed(0)} megapixel limit for JPEG 2000 masters of this kind; provide a TIFF master instead`,
      );
    }
    if (pixels > JP2_RECYCLE_PIXELS) recycle = true;
    try {
      decoder.decode();
    } catch (error) {
      recycle = true;
      throw new MasterRejectedError(`the JPEG 2000 codestream could not be decoded: ${String(error)}`);
    }
    const info = decoder.getFrameInfo();
    if (info.isSigned) throw new MasterRejectedError('JPEG 2000 images with signed samples are not supported');
    if (info.componentCount < 1 || info.componentCount > 4) {
      throw new MasterRejectedError(`JPEG 2000 images with ${info.componentCount} components are not supported`);
    }
    const decoded = decoder.getDecodedBuffer();
    const expected = info.width * info.height * info.componentCount * (info.bitsPerSample > 8 ? 2 : 1);
    // OpenJPEG reports some failures only as an empty or short output buffer.
    if (decoded.length < expected) throw new MasterRejectedError('the JPEG 2000 codestream is truncated or damaged');
    // Copy out of the WebAssembly heap before the decoder is freed.
    let data = Buffer.from(decoded.subarray(0, expected));
    let bitsPerSample: 8 | 16 = 8;
    if (info.bitsPerSample > 8) {
      bitsPerSample = 16;
      // 9–15-bit samples sit in 16-bit words: scale them to the full 16-bit range.
      const shift = 16 - info.bitsPerSample;
      if (shift > 0) {
        const words = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
        for (let i = 0; i < words.length; i++) words[i] = words[i]! << shift;
        data = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
      }
    } else if (info.bitsPerSample < 8) {
      const shift = 8 - info.bitsPerSample;
      for (let i = 0; i < data.length; i++) data[i] = data[i]! << shift;
    }
    return {
      width: info.width,
      height: info.height,
      channels: info.componentCount as DecodedImage['channels'],
      bitsPerSample,
      data,
      ...(boxes.icc ? { icc: boxes.icc } : {}),
      ...(boxes.xmp ? { xmp: boxes.xmp } : {}),
    };
  } finally {
    try {
      decoder.delete();
    } catch {
      recycle = true;
    }
    if (recycle) openjpeg = undefined;
  }
}

/** Image size and component count from the codestream's SIZ marker segment (ISO 15444-1 A.5.1). */
export function codestreamHeader(bytes: Uint8Array, at: number): { width: number; height: number; componentCount: number } {
  const ok = bytes.length >= at + 42 && bytes[at] === 0xff && bytes[at + 1] === 0x4f && bytes[at + 2] === 0xff && bytes[at + 3] === 0x51;
  if (!ok) throw new MasterRejectedError('the JPEG 2000 file has no valid codestream header');
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 42);
  const width = view.getUint32(8) - view.getUint32(16);
  const height = view.getUint32(12) - view.getUint32(20);
  const componentCount = view.getUint16(40);
  if (width < 1 || height < 1 || componentCount < 1) throw new MasterRejectedError('the JPEG 2000 codestream header is corrupt');
  return { width, height, componentCount };
}

/**
 * The ICC profile (colr box, methods 2 and 3), XMP (uuid box) and codestream offset (jp2c box) of a JP2 file;
 * for a raw codestream, nothing.
 */
export function readJp2Boxes(bytes: Uint8Array): { icc?: Buffer; xmp?: Buffer; codestream?: number } {
  const out: { icc?: Buffer; xmp?: Buffer; codestream?: number } = {};
  const walk = (start: number, end: number) => {
    let at = start;
    while (at + 8 <= end) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, Math.min(16, end - at));
      let length = view.getUint32(0);
      const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
      let header = 8;
      if (length === 1) {
        if (at + 16 > end) return;
        length = Number(view.getBigUint64(8));
        header = 16;
      } else if (length === 0) {
        length = end - at;
      }
      if (length < header || at + length > end) return;
      const body = bytes.subarray(at + header, at + length);
      if (type === 'jp2h') walk(at + header, at + length);
      else if (type === 'colr' && body.length > 3 && (body[0] === 2 || body[0] === 3) && !out.icc) out.icc = Buffer.from(body.subarray(3));
      else if (type === 'uuid' && body.length > 16 && Buffer.from(body.subarray(0, 16)).toString('hex') === XMP_UUID) out.xmp = Buffer.from(body.subarray(16));
      else if (type === 'jp2c') {
        out.codestream = at + header; // the codestream comes after the headers that matter
        return;
      }
      at += length;
    }
  };
  if (JP2_SIGNATURE.every((b, i) => bytes[i] === b)) walk(0, bytes.length);
  return out;
}

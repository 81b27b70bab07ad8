/**
 * Decoders for master formats sharp's prebuilt libvips cannot read.
 *
 * JPEG 2000: OpenJPEG compiled to WebAssembly (@cornerstonejs/codec-openjpeg, from the npm registry, no native
 * build). It decodes the codestream; the JP2 boxes around it (colour specification with its ICC profile, XMP) are
 * read here. The WebAssembly heap is at most 4 GB and OpenJPEG keeps 32-bit samples while decoding, so JPEG 2000
 * masters are limited to {@link JP2_MAX_PIXELS}; larger ones are refused with that reason.
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

/** 4 GB of WebAssembly memory, at up to ~20 bytes per RGB pixel while decoding, with headroom. */
export const JP2_MAX_PIXELS = 150_000_000;

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
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    try {
      decoder.readHeader();
    } catch (error) {
      throw new MasterRejectedError(`the JPEG 2000 header could not be read: ${String(error)}`);
    }
    const header = decoder.getFrameInfo();
    const pixels = header.width * header.height;
    const limit = Math.min(maxPixels, JP2_MAX_PIXELS);
    if (pixels > limit) {
      throw new MasterRejectedError(
        `the JPEG 2000 image is ${header.width}×${header.height} = ${(pixels / 1e6).toFixed(0)} megapixels, above the ` +
          `${(limit / 1e6).toFixed(0)} megapixel limit for JPEG 2000 masters; provide a TIFF master instead`,
      );
    }
    try {
      decoder.decode();
    } catch (error) {
      throw new MasterRejectedError(`the JPEG 2000 codestream is damaged: ${String(error)}`);
    }
    const info = decoder.getFrameInfo();
    if (info.isSigned) throw new MasterRejectedError('JPEG 2000 images with signed samples are not supported');
    if (info.componentCount < 1 || info.componentCount > 4) {
      throw new MasterRejectedError(`JPEG 2000 images with ${info.componentCount} components are not supported`);
    }
    const decoded = decoder.getDecodedBuffer();
    const expected = info.width * info.height * info.componentCount * (info.bitsPerSample > 8 ? 2 : 1);
    if (decoded.length < expected) throw new MasterRejectedError('the JPEG 2000 codestream is truncated');
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
    decoder.delete();
  }
}

/** The ICC profile (colr box, methods 2 and 3) and XMP (uuid box) of a JP2 file; nothing for a raw codestream. */
export function readJp2Boxes(bytes: Uint8Array): { icc?: Buffer; xmp?: Buffer } {
  const out: { icc?: Buffer; xmp?: Buffer } = {};
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
      else if (type === 'jp2c') return; // the codestream comes after the headers that matter
      at += length;
    }
  };
  if (JP2_SIGNATURE.every((b, i) => bytes[i] === b)) walk(0, bytes.length);
  return out;
}

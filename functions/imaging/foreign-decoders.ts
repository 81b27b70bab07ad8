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
 * HEIC (HEVC-coded HEIF): libheif with libde265 compiled to WebAssembly (libheif-js, LGPL-3.0, an unmodified npm
 * package loaded at run time, so it stays a separate, replaceable library). It decodes the primary image to 8-bit
 * RGBA with the container's rotation, mirroring and crop (irot, imir, clap) already applied; the intermediate TIFF
 * therefore carries no orientation, and an EXIF Orientation tag in the file must not be applied again. The ICC
 * profile, XMP and EXIF are not read here: libvips reads them from the HEIF header without decoding (see
 * master.ts). Lost: samples above 8 bits (10-/12-bit HEVC is reduced to 8, as every derivative is), and colour
 * described only by an nclx box: the RGB it converts to is treated as sRGB, which is right for the usual
 * BT.709/sRGB primaries but not for P3 or BT.2020 ones without an ICC profile. The same 2 GiB heap holds about 7.3
 * bytes per pixel while decoding, plus the file twice, so larger images are refused before decoding
 * ({@link HEIC_MAX_DECODE_BYTES}: about 280 MP), and the module is recycled like OpenJPEG's. AVIF (AV1-coded HEIF)
 * is decoded by sharp itself.
 */
import { readFileSync } from 'node:fs';
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
/** The same budget for libheif's heap, which is also at most 2 GiB. */
export const HEIC_MAX_DECODE_BYTES = 1.9 * 2 ** 30;
/** Measured peak heap growth per pixel while decoding HEVC to RGBA (coded planes, reference frames, RGBA output). */
const HEIC_BYTES_PER_PIXEL = 7.3;
/** Decodes above this leave a heap worth returning to the system: start a fresh module next time. */
const HEIC_RECYCLE_PIXELS = 16_000_000;
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
  return format === 'heic' ? decodeHeic(bytes, maxPixels) : decodeJpeg2000(bytes, maxPixels);
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

// ---------------------------------------------------------------- HEIC

/** libheif's error value: `code.value` 0 is success; `message` is libheif's own sentence. */
interface HeifError {
  code: { value: number };
  message: string;
}

/** An embind object in the WebAssembly heap; freed by the matching release function, never by the garbage collector. */
interface HeifObject {
  readonly $$: unknown;
}

interface HeifDecodedImage {
  image: HeifObject;
  channels: { id: { value: number }; width: number; height: number; stride: number; data: Uint8Array }[];
}

/**
 * The low-level functions libheif-js declares in libheif.d.ts. The package's HeifDecoder/HeifImage wrappers are not
 * used: they print errors with console.log, drop libheif's message, decode through a timer, and list top-level
 * images rather than the primary one.
 */
interface LibHeif {
  heif_context_alloc(): HeifObject;
  heif_context_free(context: HeifObject): void;
  heif_context_read_from_memory(context: HeifObject, data: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(context: HeifObject): HeifObject | HeifError;
  heif_image_handle_get_width(handle: HeifObject): number;
  heif_image_handle_get_height(handle: HeifObject): number;
  heif_image_handle_has_alpha_channel(handle: HeifObject): number;
  heif_image_handle_release(handle: HeifObject): void;
  heif_js_decode_image2(handle: HeifObject, colorspace: unknown, chroma: unknown): HeifDecodedImage | HeifError | null;
  heif_image_release(image: HeifObject): void;
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGBA: unknown };
  heif_channel: { heif_channel_interleaved: { value: number } };
}

/** heif_error_Invalid_input in libheif's heif_error_code. */
const HEIF_INVALID_INPUT = 2;

let libheif: LibHeif | undefined;

function loadLibheif(): LibHeif {
  // One module per process, like OpenJPEG's. Not `libheif-js/wasm`: it reads the .wasm from the working directory.
  if (!libheif) {
    const require = createRequire(import.meta.url);
    let factory: (options: Record<string, unknown>) => LibHeif;
    let wasmBinary: Buffer;
    try {
      factory = require('libheif-js/libheif-wasm/libheif.js') as typeof factory;
      wasmBinary = readFileSync(require.resolve('libheif-js/libheif-wasm/libheif.wasm'));
    } catch (error) {
      // A deployment without the optional decoder refuses the format rather than retrying a file it can never read.
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
      throw new MasterRejectedError('HEIC images cannot be decoded by this installation (the libheif-js decoder is not installed); export the master as TIFF, JPEG or AVIF');
    }
    // Given the binary, the module compiles and initialises synchronously.
    libheif = factory({ wasmBinary, print: () => undefined, printErr: () => undefined });
  }
  return libheif;
}

const isHeifError = (value: unknown): value is HeifError => typeof value === 'object' && value !== null && 'code' in value;

export async function decodeHeic(bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  const heif = loadLibheif();
  const context = heif.heif_context_alloc();
  let handle: HeifObject | undefined;
  let decoded: HeifDecodedImage | undefined;
  let recycle = false;
  try {
    // Reads the boxes (and copies the file into the heap), not the coded data: a truncated file fails at decode.
    const read = heif.heif_context_read_from_memory(context, bytes);
    if (read.code.value !== 0) throw new MasterRejectedError(`the HEIC file could not be read: ${plain(read.message)}`);
    const primary = heif.heif_js_context_get_primary_image_handle(context);
    if (isHeifError(primary)) throw new MasterRejectedError(`the HEIC file has no usable primary image: ${plain(primary.message)}`);
    handle = primary;
    const width = heif.heif_image_handle_get_width(handle);
    const height = heif.heif_image_handle_get_height(handle);
    if (width < 1 || height < 1) throw new MasterRejectedError('the HEIC image has no dimensions (corrupt header)');
    const pixels = width * height;
    const limit = Math.min(maxPixels, Math.floor((HEIC_MAX_DECODE_BYTES - 2 * bytes.length) / HEIC_BYTES_PER_PIXEL));
    if (pixels > limit) {
      throw new MasterRejectedError(
        `the HEIC image is ${width}×${height} = ${megapixels(pixels)} megapixels, above the ` +
          `${megapixels(limit)} megapixel limit for HEIC masters; provide a TIFF master instead`,
      );
    }
    if (pixels > HEIC_RECYCLE_PIXELS) recycle = true;
    let result;
    try {
      result = heif.heif_js_decode_image2(handle, heif.heif_colorspace.heif_colorspace_RGB, heif.heif_chroma.heif_chroma_interleaved_RGBA);
    } catch (error) {
      // An abort (out of memory, a decoder trap) leaves the module unusable.
      recycle = true;
      throw new MasterRejectedError(`the HEIC image could not be decoded: ${plain(String(error))}`);
    }
    if (!result || isHeifError(result)) {
      // libheif's "invalid input" covers coded data missing from the file or not decodable; other codes are features.
      const what = !result || result.code.value === HEIF_INVALID_INPUT ? 'is truncated or damaged' : 'could not be decoded';
      throw new MasterRejectedError(`the HEIC image ${what}: ${plain(result?.message ?? 'no image decoded')}`);
    }
    decoded = result;
    const plane = result.channels.find((c) => c.id.value === heif.heif_channel.heif_channel_interleaved.value);
    if (!plane || plane.width !== width || plane.height !== height || plane.stride < width * 4) {
      throw new MasterRejectedError('the HEIC image decoded to an unexpected layout');
    }
    // The pipeline flattens alpha onto white; an alpha channel that is opaque everywhere is dropped here already.
    const channels = heif.heif_image_handle_has_alpha_channel(handle) && !opaque(plane) ? 4 : 3;
    return { width, height, channels, bitsPerSample: 8, data: copyPlane(plane, channels) };
  } finally {
    // Release in reverse order of acquisition; a failure to release means the heap is no longer trustworthy.
    try {
      if (decoded) heif.heif_image_release(decoded.image);
      if (handle) heif.heif_image_handle_release(handle);
      heif.heif_context_free(context);
    } catch {
      recycle = true;
    }
    if (recycle) libheif = undefined;
  }
}

/** True if every alpha sample of an interleaved RGBA plane is 255. */
function opaque(plane: { width: number; height: number; stride: number; data: Uint8Array }): boolean {
  for (let y = 0; y < plane.height; y++) {
    const row = y * plane.stride;
    for (let x = 3; x < plane.width * 4; x += 4) if (plane.data[row + x] !== 255) return false;
  }
  return true;
}

/** Copies an RGBA plane out of the WebAssembly heap (it is freed with the image) as RGB or RGBA, without padding. */
function copyPlane(plane: { width: number; height: number; stride: number; data: Uint8Array }, channels: 3 | 4): Buffer {
  const { width, height, stride, data } = plane;
  const out = Buffer.allocUnsafe(width * height * channels);
  if (channels === 4) {
    for (let y = 0; y < height; y++) out.set(data.subarray(y * stride, y * stride + width * 4), y * width * 4);
    return out;
  }
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let i = y * stride, end = i + width * 4; i < end; i += 4) {
      out[o++] = data[i]!;
      out[o++] = data[i + 1]!;
      out[o++] = data[i + 2]!;
    }
  }
  return out;
}

const megapixels = (pixels: number) => (pixels / 1e6).toFixed(pixels < 1e7 ? 2 : 0);
/** libheif ends its messages with a newline and repeats category words ("Invalid input: Unspecified: …"). */
const plain = (message: string) => message.replace(/: Unspecified\b/g, '').trim().slice(0, 300);

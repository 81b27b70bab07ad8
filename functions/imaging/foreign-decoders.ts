/**
 * Decoders for master formats sharp's prebuilt libvips cannot read, from the npm registry as WebAssembly.
 * (Filled in below: JPEG 2000 via OpenJPEG, HEIC via libheif.)
 */
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

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];
const J2K_SIGNATURE = [0xff, 0x4f, 0xff, 0x51];

/** JPEG 2000 is recognised from its signature; HEIC is recognised by sharp (format heif, compression hevc). */
export function sniffForeignFormat(head: Uint8Array): ForeignFormat | undefined {
  const startsWith = (sig: number[]) => sig.every((b, i) => head[i] === b);
  if (startsWith(JP2_SIGNATURE) || startsWith(J2K_SIGNATURE)) return 'jp2';
  return undefined;
}

export async function decodeForeignImage(format: ForeignFormat, _bytes: Buffer, _maxPixels: number): Promise<DecodedImage> {
  throw new MasterRejectedError(`${format} decoding is not available`);
}

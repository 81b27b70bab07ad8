/**
 * A minimal baseline TIFF writer for decoded pixels (uncompressed, little-endian, 64-row strips) that tags them with
 * an ICC profile and an XMP packet *without transforming them*, so the normal sharp pipeline colour-manages foreign
 * masters exactly like native ones. (sharp's withIccProfile converts into a profile; it cannot tag raw input.)
 * The Image API uses the in-memory form for regions read from TIFF masters, with the master's own photometric
 * interpretation and extra-sample tags, so libvips reads the region exactly as it read the whole master.
 */
import { open } from 'node:fs/promises';

const ROWS_PER_STRIP = 64;
const SHORT = 3;
const LONG = 4;
const BYTE = 1;
const UNDEFINED = 7;

/** TIFF PhotometricInterpretation values this writer tags. */
export const PHOTOMETRIC = { minIsWhite: 0, minIsBlack: 1, rgb: 2, separated: 5 } as const;
export type Photometric = (typeof PHOTOMETRIC)[keyof typeof PHOTOMETRIC];

/** Interleaved pixels to be written: 8- or 16-bit (16-bit samples in the machine's, little-endian, byte order). */
export interface TaggedPixels {
  width: number;
  height: number;
  /** Colour samples (1 grey, 3 RGB, 4 CMYK) plus at most one alpha sample. */
  channels: number;
  bitsPerSample: 8 | 16;
  data: Uint8Array;
  icc?: Uint8Array;
  xmp?: Uint8Array;
  /** Default: RGB for 3 or more channels, grey (min-is-black) otherwise. */
  photometric?: Photometric;
  /** The ExtraSamples value of the alpha sample, if there is one: 1 associated, 2 unassociated (default), 0 unspecified. */
  extraSample?: 0 | 1 | 2;
}

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Inline value (fits 4 bytes) or bytes stored after the IFD. */
  value: number | Uint8Array;
}

export async function writeTaggedTiff(path: string, image: TaggedPixels): Promise<void> {
  const parts = taggedTiffParts(image);
  const file = await open(path, 'w');
  try {
    for (const part of parts) await file.write(part);
  } finally {
    await file.close();
  }
}

/** The same file in memory, for images small enough to hold twice (a region of a master). */
export function encodeTaggedTiff(image: TaggedPixels): Buffer {
  return Buffer.concat(taggedTiffParts(image));
}

/** The file's bytes in order: header and IFD, strip tables, out-of-line values, pixels. */
function taggedTiffParts(image: TaggedPixels): Uint8Array[] {
  const { width, height, channels, bitsPerSample, data } = image;
  const bytesPerRow = width * channels * (bitsPerSample / 8);
  if (data.length !== bytesPerRow * height) throw new Error('pixel buffer does not match the image size');
  if (data.length > 3.5 * 2 ** 30) throw new Error('image too large for a classic TIFF intermediate');
  const strips = Math.ceil(height / ROWS_PER_STRIP);
  const shorts = (values: number[]) => {
    const b = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
    return b;
  };
  const longs = (values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
    return b;
  };
  const photometric = image.photometric ?? (channels >= 3 ? PHOTOMETRIC.rgb : PHOTOMETRIC.minIsBlack);
  const colours = photometric === PHOTOMETRIC.separated ? 4 : photometric === PHOTOMETRIC.rgb ? 3 : 1;
  if (channels !== colours && channels !== colours + 1) throw new Error(`${channels} channels do not fit photometric interpretation ${photometric}`);
  const hasAlpha = channels === colours + 1;
  const entries: Entry[] = [
    { tag: 256, type: LONG, count: 1, value: width },
    { tag: 257, type: LONG, count: 1, value: height },
    { tag: 258, type: SHORT, count: channels, value: channels <= 2 ? (channels === 1 ? bitsPerSample : bitsPerSample | (bitsPerSample << 16)) : shorts(Array(channels).fill(bitsPerSample)) },
    { tag: 259, type: SHORT, count: 1, value: 1 },
    { tag: 262, type: SHORT, count: 1, value: photometric },
    { tag: 273, type: LONG, count: strips, value: 0 }, // patched below
    { tag: 277, type: SHORT, count: 1, value: channels },
    { tag: 278, type: LONG, count: 1, value: ROWS_PER_STRIP },
    { tag: 279, type: LONG, count: strips, value: 0 }, // patched below
    { tag: 284, type: SHORT, count: 1, value: 1 },
  ];
  if (photometric === PHOTOMETRIC.separated) entries.push({ tag: 332, type: SHORT, count: 1, value: 1 }); // InkSet: CMYK
  if (hasAlpha) entries.push({ tag: 338, type: SHORT, count: 1, value: image.extraSample ?? 2 });
  if (image.xmp) entries.push({ tag: 700, type: BYTE, count: image.xmp.length, value: image.xmp });
  if (image.icc) entries.push({ tag: 34675, type: UNDEFINED, count: image.icc.length, value: image.icc });

  const ifdSize = 2 + entries.length * 12 + 4;
  let extraOffset = 8 + ifdSize;
  // Strip tables are laid out first among the out-of-line values; their size is known before their contents.
  const stripTableBytes = strips > 1 ? strips * 4 : 0;
  const offsetsAt = extraOffset;
  const countsAt = extraOffset + stripTableBytes;
  extraOffset += 2 * stripTableBytes;
  const extras: Uint8Array[] = [];
  const placed = new Map<Entry, number>();
  for (const entry of entries) {
    if (typeof entry.value !== 'number' && entry.value.length > 4) {
      placed.set(entry, extraOffset);
      extras.push(entry.value);
      extraOffset += entry.value.length + (entry.value.length & 1);
      if (entry.value.length & 1) extras.push(Buffer.alloc(1));
    }
  }
  const dataOffset = extraOffset;
  const stripOffsets: number[] = [];
  const stripCounts: number[] = [];
  for (let s = 0; s < strips; s++) {
    const rows = Math.min(ROWS_PER_STRIP, height - s * ROWS_PER_STRIP);
    stripOffsets.push(dataOffset + s * ROWS_PER_STRIP * bytesPerRow);
    stripCounts.push(rows * bytesPerRow);
  }

  const head = Buffer.alloc(8 + ifdSize);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach((entry, i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(entry.tag, at);
    head.writeUInt16LE(entry.type, at + 2);
    head.writeUInt32LE(entry.count, at + 4);
    if (entry.tag === 273) head.writeUInt32LE(strips > 1 ? offsetsAt : stripOffsets[0]!, at + 8);
    else if (entry.tag === 279) head.writeUInt32LE(strips > 1 ? countsAt : stripCounts[0]!, at + 8);
    else if (placed.has(entry)) head.writeUInt32LE(placed.get(entry)!, at + 8);
    else if (typeof entry.value !== 'number') head.set(entry.value, at + 8);
    else if (entry.type === SHORT && entry.count === 1) head.writeUInt16LE(entry.value, at + 8);
    else head.writeUInt32LE(entry.value >>> 0, at + 8);
  });

  return [head, ...(strips > 1 ? [longs(stripOffsets), longs(stripCounts)] : []), ...extras, data];
}

/**
 * A minimal baseline TIFF writer for decoded pixels (uncompressed, little-endian, 64-row strips) that tags them with
 * an ICC profile and an XMP packet *without transforming them*, so the normal sharp pipeline colour-manages foreign
 * masters exactly like native ones. (sharp's withIccProfile converts into a profile; it cannot tag raw input.)
 */
import { open } from 'node:fs/promises';
import type { DecodedImage } from './foreign-decoders.ts';

const ROWS_PER_STRIP = 64;
const SHORT = 3;
const LONG = 4;
const BYTE = 1;
const UNDEFINED = 7;

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Inline value (fits 4 bytes) or bytes stored after the IFD. */
  value: number | Buffer;
}

export async function writeTaggedTiff(path: string, image: DecodedImage): Promise<void> {
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
  const hasAlpha = channels === 2 || channels === 4;
  const entries: Entry[] = [
    { tag: 256, type: LONG, count: 1, value: width },
    { tag: 257, type: LONG, count: 1, value: height },
    { tag: 258, type: SHORT, count: channels, value: channels <= 2 ? (channels === 1 ? bitsPerSample : bitsPerSample | (bitsPerSample << 16)) : shorts(Array(channels).fill(bitsPerSample)) },
    { tag: 259, type: SHORT, count: 1, value: 1 },
    { tag: 262, type: SHORT, count: 1, value: channels >= 3 ? 2 : 1 },
    { tag: 273, type: LONG, count: strips, value: 0 }, // patched below
    { tag: 277, type: SHORT, count: 1, value: channels },
    { tag: 278, type: LONG, count: 1, value: ROWS_PER_STRIP },
    { tag: 279, type: LONG, count: strips, value: 0 }, // patched below
    { tag: 284, type: SHORT, count: 1, value: 1 },
  ];
  if (hasAlpha) entries.push({ tag: 338, type: SHORT, count: 1, value: 2 });
  if (image.xmp) entries.push({ tag: 700, type: BYTE, count: image.xmp.length, value: image.xmp });
  if (image.icc) entries.push({ tag: 34675, type: UNDEFINED, count: image.icc.length, value: image.icc });

  const ifdSize = 2 + entries.length * 12 + 4;
  let extraOffset = 8 + ifdSize;
  // Strip tables are laid out first among the out-of-line values; their size is known before their contents.
  const stripTableBytes = strips > 1 ? strips * 4 : 0;
  const offsetsAt = extraOffset;
  const countsAt = extraOffset + stripTableBytes;
  extraOffset += 2 * stripTableBytes;
  const extras: Buffer[] = [];
  const placed = new Map<Entry, number>();
  for (const entry of entries) {
    if (Buffer.isBuffer(entry.value) && entry.value.length > 4) {
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
    else if (Buffer.isBuffer(entry.value)) entry.value.copy(head, at + 8);
    else if (entry.type === SHORT && entry.count === 1) head.writeUInt16LE(entry.value, at + 8);
    else head.writeUInt32LE(entry.value >>> 0, at + 8);
  });

  const file = await open(path, 'w');
  try {
    await file.write(head);
    if (strips > 1) {
      await file.write(longs(stripOffsets));
      await file.write(longs(stripCounts));
    }
    for (const extra of extras) await file.write(extra);
    await file.write(data);
  } finally {
    await file.close();
  }
}

/**
 * Builds HEIC files for tests from the HEVC bitstream of a real single-image HEIC (the 128×128 hopper fixture): a
 * grid of N×M tiles that all point at that one coded tile, with an optional rotation (irot), ICC profile (colr prof),
 * EXIF item and alpha plane (the same tile's luma), and optionally a declared size larger than the tiles cover (a
 * header that lies, like a decompression bomb). No HEVC encoder is needed, and each feature the decoder must handle
 * gets a small file with a known answer.
 *
 * Box layouts follow ISO/IEC 23008-12 (HEIF) and ISO/IEC 14496-12 (ISOBMFF); only what libheif and libvips read.
 */

export interface HeicOptions {
  /** Tiles across and down; every cell shows the same 128×128 tile. sharp's libheif reads at most 256 items. */
  across: number;
  down: number;
  /** The size the grid declares, if not the size its tiles cover. */
  declaredSize?: { width: number; height: number };
  /** irot: anti-clockwise rotation in quarter turns, applied by the decoder. */
  quarterTurns?: 0 | 1 | 2 | 3;
  icc?: Buffer;
  /** A TIFF-structured EXIF block (starting with "II" or "MM"), stored as an Exif item describing the image. */
  exif?: Buffer;
  /** An alpha plane: the tile's own luma as an auxiliary image; only for a 1×1 grid, whose size it must match. */
  alpha?: boolean;
}

interface SourceTile {
  hvcC: Buffer;
  width: number;
  height: number;
  bitstream: Buffer;
}

export function buildHeic(source: Buffer, options: HeicOptions): Buffer {
  const tile = sourceTile(source);
  const tiles = options.across * options.down;
  if (options.alpha && tiles !== 1) throw new Error('alpha only for a 1×1 grid');
  // Item IDs: the grid is 1, the EXIF item 2, the alpha plane 3, tiles from 4 (libheif refuses a grid naming one
  // tile twice, so every cell has its own item, all pointing at the same coded data).
  const gridId = 1;
  const exifId = 2;
  const alphaId = 3;
  const tileIds = Array.from({ length: tiles }, (_, i) => 4 + i);
  const width = options.declaredSize?.width ?? tile.width * options.across;
  const height = options.declaredSize?.height ?? tile.height * options.down;
  const wide = width > 0xffff || height > 0xffff;
  const gridData = Buffer.alloc(wide ? 12 : 8);
  gridData.writeUInt8(0, 0); // version
  gridData.writeUInt8(wide ? 1 : 0, 1); // flags: 32-bit output size
  gridData.writeUInt8(options.down - 1, 2);
  gridData.writeUInt8(options.across - 1, 3);
  if (wide) {
    gridData.writeUInt32BE(width, 4);
    gridData.writeUInt32BE(height, 8);
  } else {
    gridData.writeUInt16BE(width, 4);
    gridData.writeUInt16BE(height, 6);
  }
  const exifData = options.exif ? Buffer.concat([u32(0), options.exif]) : undefined; // offset to the TIFF header
  const idat = Buffer.concat([gridData, exifData ?? Buffer.alloc(0)]);

  // Properties, 1-based in ipma order: hvcC, tile ispe, grid ispe, then the optional ones.
  const properties = [box('hvcC', tile.hvcC), ispe(tile.width, tile.height), ispe(width, height)];
  const gridProperties = [3];
  if (options.quarterTurns) {
    properties.push(box('irot', Buffer.from([options.quarterTurns])));
    gridProperties.push(0x80 | properties.length); // essential
  }
  if (options.icc) {
    properties.push(box('colr', Buffer.from('prof', 'latin1'), options.icc));
    gridProperties.push(properties.length);
  }
  const associations = [
    Buffer.concat([u16(gridId), Buffer.from([gridProperties.length, ...gridProperties])]),
    ...tileIds.map((id) => Buffer.concat([u16(id), Buffer.from([2, 0x81, 2])])),
  ];
  if (options.alpha) {
    properties.push(fullBox('auxC', 0, 0, Buffer.from('urn:mpeg:hevc:2015:auxid:1\0', 'latin1')));
    associations.push(Buffer.concat([u16(alphaId), Buffer.from([3, 0x81, 2, 0x80 | properties.length])]));
  }
  const ipma = fullBox('ipma', 0, 0, u32(associations.length), ...associations);

  const references = [box('dimg', u16(gridId), u16(tiles), ...tileIds.map(u16))];
  if (exifData) references.push(box('cdsc', u16(exifId), u16(1), u16(gridId)));
  if (options.alpha) references.push(box('auxl', u16(alphaId), u16(1), u16(gridId)));

  const items = [infe(gridId, 'grid', false), ...tileIds.map((id) => infe(id, 'hvc1', true))];
  if (exifData) items.push(infe(exifId, 'Exif', true));
  if (options.alpha) items.push(infe(alphaId, 'hvc1', true));

  const ftyp = box('ftyp', Buffer.from('heic', 'latin1'), u32(0), Buffer.from('mif1heic', 'latin1'));
  // The iloc box has a fixed size whatever the offsets, so the meta box can be laid out once the mdat offset is known.
  const metaWith = (mdatOffset: number) => {
    const locations = [iloc(gridId, 1, 0, gridData.length), ...tileIds.map((id) => iloc(id, 0, mdatOffset + 8, tile.bitstream.length))];
    if (exifData) locations.push(iloc(exifId, 1, gridData.length, exifData.length));
    if (options.alpha) locations.push(iloc(alphaId, 0, mdatOffset + 8, tile.bitstream.length));
    return fullBox(
      'meta', 0, 0,
      fullBox('hdlr', 0, 0, u32(0), Buffer.from('pict', 'latin1'), Buffer.alloc(12), Buffer.alloc(1)),
      fullBox('pitm', 0, 0, u16(gridId)),
      fullBox('iloc', 1, 0, Buffer.from([0x44, 0x00]), u16(locations.length), ...locations),
      fullBox('iinf', 0, 0, u16(items.length), ...items),
      fullBox('iref', 0, 0, ...references),
      box('iprp', box('ipco', ...properties), ipma),
      box('idat', idat),
    );
  };
  const metaLength = metaWith(0).length;
  return Buffer.concat([ftyp, metaWith(ftyp.length + metaLength), box('mdat', tile.bitstream)]);
}

/** The hvcC, size and coded data of a single-image HEIC whose one item is stored in one extent. */
function sourceTile(file: Buffer): SourceTile {
  const meta = child(file, 0, file.length, 'meta');
  const metaBody = { start: meta.start + 4, end: meta.end }; // full box
  const ipco = child(file, child(file, metaBody.start, metaBody.end, 'iprp').start, metaBody.end, 'ipco');
  const hvcC = child(file, ipco.start, ipco.end, 'hvcC');
  const ispeBox = child(file, ipco.start, ipco.end, 'ispe');
  const iloc = child(file, metaBody.start, metaBody.end, 'iloc');
  // The first item's first extent: base offset plus extent offset, each field as wide as the box says.
  const version = file[iloc.start]!;
  const offsetSize = file[iloc.start + 4]! >> 4;
  const lengthSize = file[iloc.start + 4]! & 15;
  const baseOffsetSize = file[iloc.start + 5]! >> 4;
  const indexSize = version === 0 ? 0 : file[iloc.start + 5]! & 15;
  let at = iloc.start + 6 + (version < 2 ? 2 : 4) + (version < 2 ? 2 : 4) + (version === 0 ? 0 : 2) + 2;
  const read = (size: number) => {
    const value = size === 0 ? 0 : file.readUIntBE(at, size);
    at += size;
    return value;
  };
  const base = read(baseOffsetSize);
  at += 2 + indexSize; // extent count, extent index
  const offset = base + read(offsetSize);
  const length = read(lengthSize);
  return {
    hvcC: file.subarray(hvcC.start, hvcC.end),
    width: file.readUInt32BE(ispeBox.start + 4),
    height: file.readUInt32BE(ispeBox.start + 8),
    bitstream: file.subarray(offset, offset + length),
  };
}

function child(file: Buffer, start: number, end: number, type: string): { start: number; end: number } {
  for (let at = start; at + 8 <= end; ) {
    const length = file.readUInt32BE(at);
    if (file.toString('latin1', at + 4, at + 8) === type) return { start: at + 8, end: at + length };
    if (length < 8) break;
    at += length;
  }
  throw new Error(`no ${type} box`);
}

const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, flags: number, ...parts: Buffer[]) =>
  box(type, Buffer.from([version, flags >> 16, (flags >> 8) & 0xff, flags & 0xff]), ...parts);
const ispe = (width: number, height: number) => fullBox('ispe', 0, 0, u32(width), u32(height));
const infe = (id: number, type: string, hidden: boolean) =>
  fullBox('infe', 2, hidden ? 1 : 0, u16(id), u16(0), Buffer.from(type, 'latin1'), Buffer.alloc(1));
/** A version-1 iloc entry: one extent, 4-byte offset and length; construction method 0 = file, 1 = idat. */
const iloc = (id: number, method: number, offset: number, length: number) =>
  Buffer.concat([u16(id), u16(method), u16(0), u16(1), u32(offset), u32(length)]);

/**
 * Rights and descriptive metadata embedded in a master (EXIF, IPTC-IIM, XMP): reading it into one record, and the
 * compact packets written back into every derivative.
 *
 * Museums chose Cantaloupe because derivatives kept the master's rights metadata; imagehub keeps the fields that
 * matter for re-use (copyright, creator, credit, web statement, usage terms, title, description) in every tile and
 * size it writes, and in the image's DynamoDB item. Bulky or private metadata (camera settings, Lightroom develop
 * settings, GPS, thumbnails) is deliberately not copied into thousands of tiles.
 *
 * Precedence when sources disagree: XMP, then IPTC-IIM, then EXIF (XMP is the one current tools keep in sync; IIM
 * and EXIF strings are often truncated or in a legacy character set).
 */
import { XMLParser } from 'fast-xml-parser';

export interface EmbeddedMetadata {
  copyright?: string;
  creator?: string;
  credit?: string;
  title?: string;
  description?: string;
  /** xmpRights:WebStatement: a URL describing the rights, often a Creative Commons or RightsStatements.org URI. */
  webStatement?: string;
  usageTerms?: string;
  source?: string;
  /** Identifiers that tie the image to a data-hub record, found in the description, dc:identifier or dc:source. */
  dataPid?: string;
  workPid?: string;
}

export type MetadataSource = Partial<EmbeddedMetadata>;

const FIELDS: (keyof EmbeddedMetadata)[] = [
  'copyright', 'creator', 'credit', 'title', 'description', 'webStatement', 'usageTerms', 'source', 'dataPid', 'workPid',
];

/** Longest value kept per field; guards the item (DynamoDB's 400 KB) and every derivative against bloated tags. */
export const MAX_FIELD_LENGTH = 2000;

export function cleanText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof Uint8Array) text = decodeBytes(value);
  else if (typeof value === 'number') text = String(value);
  else return undefined;
  // eslint-disable-next-line no-control-regex
  text = text.replace(/\u0000+$/g, '').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').trim();
  if (text === '') return undefined;
  return text.length > MAX_FIELD_LENGTH ? `${text.slice(0, MAX_FIELD_LENGTH - 1)}…` : text;
}

/** UTF-8 when valid, else Latin-1: the two encodings legacy EXIF/IPTC strings actually come in. */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** Merge sources in precedence order (first wins per field), then derive PIDs from free text when none is explicit. */
export function mergeEmbeddedMetadata(...sources: MetadataSource[]): EmbeddedMetadata {
  const merged: EmbeddedMetadata = {};
  for (const field of FIELDS) {
    for (const source of sources) {
      const value = cleanText(source[field]);
      if (value !== undefined) {
        merged[field] = value;
        break;
      }
    }
  }
  const text = sources.flatMap((s) => [s.description, s.source, s.dataPid, s.workPid]).filter((t): t is string => !!t);
  for (const url of text.flatMap((t) => t.match(/https?:\/\/[^\s"'<>]+/g) ?? [])) {
    const clean = url.replace(/[.,;)\]]+$/, '');
    if (!merged.dataPid && /\/work\/data\//.test(clean)) merged.dataPid = clean;
    if (!merged.workPid && /\/work\/id\//.test(clean)) merged.workPid = clean;
  }
  return merged;
}

// ---------------------------------------------------------------- EXIF (as decoded by exif-reader)

interface ExifTags {
  Image?: Record<string, unknown>;
}

export function fromExif(exif: ExifTags | undefined): MetadataSource {
  const ifd0 = exif?.Image ?? {};
  return {
    copyright: cleanText(ifd0.Copyright),
    creator: cleanText(ifd0.Artist),
    description: cleanText(ifd0.ImageDescription),
  };
}

// ---------------------------------------------------------------- IPTC-IIM

/**
 * IPTC-IIM datasets from either a Photoshop image resource block (JPEG APP13, `Photoshop 3.0\0 8BIM…`) or raw IIM
 * (TIFF tag 33723). Returns record 2 datasets by number; repeated datasets are joined with "; ".
 */
export function parseIptc(block: Uint8Array): Map<number, string> {
  const iim = extractIim(block);
  const raw = new Map<number, Uint8Array[]>();
  let utf8 = false;
  let i = 0;
  while (i + 5 <= iim.length) {
    if (iim[i] !== 0x1c) break;
    const record = iim[i + 1]!;
    const dataset = iim[i + 2]!;
    let length = (iim[i + 3]! << 8) | iim[i + 4]!;
    let start = i + 5;
    if (length & 0x8000) {
      // Extended dataset: the low bits give the number of length bytes that follow.
      const n = length & 0x7fff;
      if (n > 4 || start + n > iim.length) break;
      length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + iim[start + k]!;
      start += n;
    }
    if (start + length > iim.length) break;
    const data = iim.subarray(start, start + length);
    if (record === 1 && dataset === 90 && data.length >= 3 && data[0] === 0x1b && data[1] === 0x25 && data[2] === 0x47) utf8 = true;
    if (record === 2) raw.set(dataset, [...(raw.get(dataset) ?? []), data]);
    i = start + length;
  }
  const decoder = new TextDecoder(utf8 ? 'utf-8' : 'latin1');
  const out = new Map<number, string>();
  for (const [dataset, values] of raw) {
    const text = values.map((v) => (utf8 ? decoder.decode(v) : decodeBytes(v))).filter((v) => v.trim() !== '');
    if (text.length) out.set(dataset, text.join('; '));
  }
  return out;
}

function extractIim(block: Uint8Array): Uint8Array {
  const header = new TextDecoder('latin1').decode(block.subarray(0, 14));
  let i = header.startsWith('Photoshop 3.0') ? 14 : 0;
  if (new TextDecoder('latin1').decode(block.subarray(i, i + 4)) !== '8BIM') return block;
  // Photoshop image resources: '8BIM', id (2), Pascal name (padded to even), size (4), data (padded to even).
  while (i + 12 <= block.length && block[i] === 0x38 && block[i + 1] === 0x42 && block[i + 2] === 0x49 && block[i + 3] === 0x4d) {
    const id = (block[i + 4]! << 8) | block[i + 5]!;
    const nameLength = block[i + 6]!;
    let p = i + 6 + ((nameLength + 2) & ~1);
    if (p + 4 > block.length) break;
    const size = ((block[p]! << 24) >>> 0) + (block[p + 1]! << 16) + (block[p + 2]! << 8) + block[p + 3]!;
    p += 4;
    if (p + size > block.length) break;
    if (id === 0x0404) return block.subarray(p, p + size);
    i = p + size + (size & 1);
  }
  return new Uint8Array(0);
}

export function fromIptc(block: Uint8Array | undefined): MetadataSource {
  if (!block) return {};
  const iptc = parseIptc(block);
  return {
    title: iptc.get(5),
    creator: iptc.get(80),
    credit: iptc.get(110),
    source: iptc.get(115),
    copyright: iptc.get(116),
    description: iptc.get(120),
  };
}

// ---------------------------------------------------------------- XMP

/** XMP packets come as UTF-8 or, from some writers, UTF-16: detect from the byte pattern. */
export function decodeXmp(bytes: Uint8Array): string {
  if (bytes.length >= 2) {
    if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0 && bytes[1] !== 0)) return new TextDecoder('utf-16be').decode(bytes);
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] !== 0 && bytes[1] === 0)) return new TextDecoder('utf-16le').decode(bytes);
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** XMP larger than this is not parsed (extended XMP of develop settings can be megabytes; rights fields are small). */
export const MAX_XMP_BYTES = 4 * 1024 * 1024;

const xmpParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'rdf:li' || name === 'rdf:Description',
});

type XmlNode = string | { [key: string]: XmlNode | XmlNode[] };

export function fromXmp(packet: Uint8Array | string | undefined): MetadataSource {
  if (packet === undefined) return {};
  const xml = typeof packet === 'string' ? packet : packet.length > MAX_XMP_BYTES ? '' : decodeXmp(packet);
  if (!xml) return {};
  let doc: XmlNode;
  try {
    doc = xmpParser.parse(xml) as XmlNode;
  } catch {
    return {};
  }
  const props = new Map<string, XmlNode>();
  collectDescriptions(doc, props);
  const get = (name: string) => xmpValue(props.get(name));
  const identifier = get('dc:identifier');
  return {
    copyright: get('dc:rights'),
    creator: get('dc:creator'),
    credit: get('photoshop:Credit'),
    title: get('dc:title'),
    description: get('dc:description'),
    webStatement: get('xmpRights:WebStatement'),
    usageTerms: get('xmpRights:UsageTerms'),
    source: get('dc:source') ?? get('photoshop:Source'),
    dataPid: identifier && /\/work\/data\//.test(identifier) ? identifier : undefined,
    workPid: identifier && /\/work\/id\//.test(identifier) ? identifier : undefined,
  };
}

/** Properties of every rdf:Description, whether written as attributes or child elements. */
function collectDescriptions(node: XmlNode | XmlNode[], props: Map<string, XmlNode>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectDescriptions(n, props);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'rdf:Description') {
      for (const description of Array.isArray(value) ? value : [value]) {
        if (typeof description !== 'object' || description === null || Array.isArray(description)) continue;
        for (const [prop, v] of Object.entries(description)) {
          const name = prop.startsWith('@') ? prop.slice(1) : prop;
          if (!props.has(name) && !Array.isArray(v)) props.set(name, v);
          else if (!props.has(name) && Array.isArray(v) && v[0] !== undefined) props.set(name, v[0]);
        }
      }
    } else if (typeof value === 'object') {
      collectDescriptions(value, props);
    }
  }
}

/** A simple value, the x-default (or first) entry of an rdf:Alt, or the entries of an rdf:Seq/Bag joined by "; ". */
function xmpValue(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return cleanText(node);
  const resource = node['@rdf:resource'];
  if (typeof resource === 'string') return cleanText(resource);
  const text = node['#text'];
  if (typeof text === 'string') return cleanText(text);
  for (const container of ['rdf:Alt', 'rdf:Seq', 'rdf:Bag']) {
    const c = node[container];
    if (!c || typeof c !== 'object' || Array.isArray(c)) continue;
    const items = c['rdf:li'];
    const list = (Array.isArray(items) ? items : items === undefined ? [] : [items]).map((li) => ({
      text: typeof li === 'string' ? li : typeof li === 'object' && !Array.isArray(li) && typeof li['#text'] === 'string' ? li['#text'] : '',
      lang: typeof li === 'object' && !Array.isArray(li) ? li['@xml:lang'] : undefined,
    }));
    if (container === 'rdf:Alt') {
      const chosen = list.find((l) => l.lang === 'x-default') ?? list[0];
      return cleanText(chosen?.text);
    }
    return cleanText(list.map((l) => l.text).filter(Boolean).join('; '));
  }
  return undefined;
}

// ---------------------------------------------------------------- written into derivatives

/** EXIF IFD0 tags for derivatives (ASCII fields; non-ASCII text is kept in the XMP packet too). */
export function derivativeExif(meta: EmbeddedMetadata): Record<string, string> {
  const ifd0: Record<string, string> = {};
  if (meta.copyright) ifd0.Copyright = meta.copyright;
  if (meta.creator) ifd0.Artist = meta.creator;
  if (meta.description) ifd0.ImageDescription = meta.description;
  return ifd0;
}

/** A small XMP packet with the rights fields, for derivatives. Undefined when there is nothing to say. */
export function derivativeXmp(meta: EmbeddedMetadata): string | undefined {
  const parts: string[] = [];
  const alt = (name: string, value: string) =>
    `<${name}><rdf:Alt><rdf:li xml:lang="x-default">${escapeXml(value)}</rdf:li></rdf:Alt></${name}>`;
  if (meta.copyright) parts.push(alt('dc:rights', meta.copyright));
  if (meta.creator) parts.push(`<dc:creator><rdf:Seq><rdf:li>${escapeXml(meta.creator)}</rdf:li></rdf:Seq></dc:creator>`);
  if (meta.title) parts.push(alt('dc:title', meta.title));
  if (meta.credit) parts.push(`<photoshop:Credit>${escapeXml(meta.credit)}</photoshop:Credit>`);
  if (meta.webStatement) parts.push(`<xmpRights:WebStatement>${escapeXml(meta.webStatement)}</xmpRights:WebStatement>`);
  if (meta.usageTerms) parts.push(alt('xmpRights:UsageTerms', meta.usageTerms));
  if (meta.copyright || meta.webStatement) parts.push('<xmpRights:Marked>True</xmpRights:Marked>');
  if (meta.dataPid) parts.push(`<dc:identifier>${escapeXml(meta.dataPid)}</dc:identifier>`);
  if (parts.length === 0) return undefined;
  return [
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/">',
    ...parts,
    '</rdf:Description></rdf:RDF></x:xmpmeta>',
    '<?xpacket end="r"?>',
  ].join('');
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * LIDO records from the data hub, mapped to {@link MappedRecord}.
 *
 * Input is whatever the harvester fetched: one `lido:lido`, a `lido:lidoWrap`, or an OAI-PMH response (GetRecord,
 * ListRecords, ListIdentifiers, or an error). The profile is the VKC one described in the fixtures' PROFILE.md, in
 * both generations (2019 `objectnummer`/`objectcategorie`/`hoofdmotief`, 2021–22 `object-number`/`object-category`/
 * `content-motif-general`), and anything else LIDO-shaped is mapped as far as it goes.
 *
 * Robustness, because one bad record must never stop a harvest page:
 *  - The document is first cut into records by a small tag scanner (comments, CDATA, PIs and quoted `>` aware), and
 *    every record is checked for well-formedness and parsed on its own. A malformed record is skipped with the
 *    parser's message and the document line; its neighbours are still mapped.
 *  - Namespace prefixes are dropped (`lido:`, `ns0:`, default namespace all read the same) and element names are
 *    matched with a lower-case first letter plus the misspellings real exports contain (`appelationValue`,
 *    `objectMeasurmentsWrap`, `meausurementType`), so the Design Museum Gent export maps too.
 *  - Every element is read as a list (a record may repeat anything), attributes by lower-cased local name.
 *  - Nothing here throws: failures become `skipped` entries with a reason.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { OaiError, OaiHeader, ResumptionToken } from './oai-pmh.ts';
import {
  cleanObjectNumber,
  emptyRecord,
  type Concept,
  type Creator,
  type Dimension,
  type Institution,
  type LanguageMap,
  type MappedRecord,
  type ProductionDates,
  type RelatedWork,
  type Representation,
  type RightsStatement,
  type Subject,
} from './record.ts';
import { readWellFormedXml } from './well-formed-xml.ts';

/**
 * An element as parsed here: children by canonical local name (always arrays), attributes as `@_{lower-case local
 * name}` (`@_type`, `@_pref`, `@_lang`, `@_sortorder`), text (CDATA and entities resolved) as `#text`.
 */
export interface XmlElement {
  '#text'?: string;
  [name: string]: XmlElement[] | string | undefined;
}

/**
 * What an OAI-PMH envelope says besides its records, in the shapes of functions/core/oai-pmh.ts. For paging a
 * harvest use that module (it refuses a cut-off page outright); this is for reading whole documents.
 */
export interface OaiEnvelope {
  /** The verb element present (`GetRecord`, `ListRecords`, `ListIdentifiers`, `Identify`, …). */
  verb?: string;
  responseDate?: string;
  /** OAI-PMH errors (`idDoesNotExist`, `noRecordsMatch`, `badResumptionToken`, …). Not skipped records. */
  errors: OaiError[];
  /** Every header with an identifier, in order, including ListIdentifiers headers and deleted records. */
  headers: OaiHeader[];
  /** Absent when the response has none; an empty `value` marks the last page. */
  resumptionToken?: ResumptionToken;
}

export interface SkippedRecord {
  identifier?: string;
  reason: string;
}

/** A mapped record and the record's own XML (the `lido` element, with the namespaces it uses declared on it). */
export interface LidoEntry {
  record: MappedRecord;
  /** Absent only for deleted OAI records, which have no metadata. */
  xml?: string;
}

export interface LidoParseResult {
  records: LidoEntry[];
  skipped: SkippedRecord[];
  /**
   * Empty when the whole document is well-formed. Otherwise what is wrong with it: records that could be cut out
   * and parsed are still returned, but a cut-off download also loses its tail (and an OAI page its resumption
   * token), so a harvester should fetch such a document again rather than trust it.
   */
  documentErrors: string[];
  /** Present when the document is an OAI-PMH response. */
  oai?: OaiEnvelope;
}

export type LidoMapResult = { ok: true; record: MappedRecord } | { ok: false; skipped: SkippedRecord };

const OAI_NAMESPACE = 'http://www.openarchives.org/OAI/2.0/';

// ---------------------------------------------------------------------------------------------------------------
// XML parsing

/** Longest record id mirrored, in UTF-8 bytes (real ones are URNs and URLs of under 200). */
const MAX_RECORD_ID_BYTES = 1024;

/** Misspelt element names seen in real exports (Design Museum Gent), after the first letter is lower-cased. */
const TAG_ALIASES: Record<string, string> = {
  appelationValue: 'appellationValue',
  meausurementType: 'measurementType',
  measurmentType: 'measurementType',
};

function canonicalTag(name: string): string {
  const local = name.slice(name.indexOf(':') + 1);
  const lowered = local.charAt(0).toLowerCase() + local.slice(1);
  return TAG_ALIASES[lowered] ?? lowered.replace('Measurment', 'Measurement');
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // Trimming per text segment would eat the space next to CDATA or entities; values are cleaned when read.
  trimValues: false,
  alwaysCreateTextNode: true,
  // Also resolves numeric references (`&#13;`, `&#233;`), which the default leaves as written.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  transformTagName: canonicalTag,
  transformAttributeName: (name) => name.toLowerCase(),
  // The callbacks above ignore the path: spares the parser building a path string for every element (a quarter
  // of its time).
  jPath: false,
});

function parseElement(xml: string): XmlElement {
  return parser.parse(xml) as XmlElement;
}

/**
 * The tree of XML known to be well-formed: by the fast reader of functions/core/well-formed-xml.ts, which builds
 * the same tree as {@link parseElement} in a fraction of the time, or by fast-xml-parser where that reader gives up.
 */
function parseWellFormed(xml: string): XmlElement {
  return readWellFormedXml(xml, canonicalTag) ?? parseElement(xml);
}

/** For the tests that hold the fast reader to fast-xml-parser: each one's tree (the reader's undefined if it gave up). */
export const xmlTrees = {
  fastXmlParser: parseElement,
  fastReader: (xml: string): XmlElement | undefined => readWellFormedXml(xml, canonicalTag),
};

/** `undefined` when well-formed, else the parser's complaint with the line within `xml`. */
function wellFormednessError(xml: string): { message: string; line: number } | undefined {
  const result = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (result === true) return undefined;
  return { message: result.err.msg, line: result.err.line };
}

// ---------------------------------------------------------------------------------------------------------------
// Tag scanner: element spans of the outer structure, so records can be cut out of the document text.

interface Span {
  /** Canonical local name. */
  name: string;
  start: number;
  /** Index of the `>` closing the start tag. */
  openEnd: number;
  /** Index just past the end tag (or the self-closing start tag). */
  end: number;
  children: Span[];
}

function findTagEnd(xml: string, from: number): number {
  let quote = 0;
  for (let i = from; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) {
      quote = c;
    } else if (c === 62) {
      return i;
    }
  }
  return -1;
}

/** Element spans down to `maxDepth` (root = 0). Structural problems are reported, not thrown. */
function scanElements(xml: string, maxDepth: number): { roots: Span[]; problems: string[] } {
  const roots: Span[] = [];
  const problems: string[] = [];
  const stack: { name: string; span?: Span }[] = [];
  /** How many elements of each name are open (on the stack). */
  const open = new Map<string, number>();
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const close = xml.indexOf('-->', lt + 4);
      if (close < 0) return { roots, problems: [...problems, 'unterminated comment'] };
      i = close + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const close = xml.indexOf(']]>', lt + 9);
      if (close < 0) return { roots, problems: [...problems, 'unterminated CDATA section'] };
      i = close + 3;
    } else if (xml.startsWith('<?', lt)) {
      const close = xml.indexOf('?>', lt + 2);
      if (close < 0) return { roots, problems: [...problems, 'unterminated processing instruction'] };
      i = close + 2;
    } else if (xml.startsWith('<!', lt)) {
      // DOCTYPE, possibly with an internal subset in brackets.
      const bracket = xml.indexOf('[', lt);
      const gt = xml.indexOf('>', lt);
      const close = bracket >= 0 && bracket < gt ? xml.indexOf('>', Math.max(xml.indexOf(']', bracket), bracket)) : gt;
      if (close < 0) return { roots, problems: [...problems, 'unterminated declaration'] };
      i = close + 1;
    } else if (xml.startsWith('</', lt)) {
      const gt = xml.indexOf('>', lt);
      if (gt < 0) return { roots, problems: [...problems, 'unterminated end tag'] };
      const name = xml.slice(lt + 2, gt).trim();
      // The matching start tag, searched from the top: only names that are open are searched for at all, so the cost
      // is the number of elements this end tag closes. (Listing the whole stack for every end tag made 100 000
      // nested elements take minutes.)
      let at = -1;
      if (open.get(name)) for (at = stack.length - 1; at >= 0 && stack[at]!.name !== name; ) at--;
      if (at < 0) {
        problems.push(`stray end tag </${name}>`);
      } else {
        if (at !== stack.length - 1) problems.push(`<${stack[stack.length - 1]!.name}> closed by </${name}>`);
        while (stack.length > at) {
          const closed = stack.pop()!;
          open.set(closed.name, open.get(closed.name)! - 1);
          if (closed.span) closed.span.end = gt + 1;
        }
      }
      i = gt + 1;
    } else {
      const gt = findTagEnd(xml, lt + 1);
      if (gt < 0) return { roots, problems: [...problems, 'unterminated start tag'] };
      const name = /^[^\s/>]+/.exec(xml.slice(lt + 1, Math.min(gt, lt + 200)))?.[0] ?? '';
      const selfClosing = xml.charCodeAt(gt - 1) === 47;
      const depth = stack.length;
      let span: Span | undefined;
      if (depth <= maxDepth && (depth === 0 || stack[depth - 1]!.span)) {
        span = { name: canonicalTag(name), start: lt, openEnd: gt, end: gt + 1, children: [] };
        if (depth === 0) roots.push(span);
        else stack[depth - 1]!.span!.children.push(span);
      }
      if (!selfClosing) {
        stack.push({ name, span });
        open.set(name, (open.get(name) ?? 0) + 1);
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) {
    problems.push(`unclosed <${stack[stack.length - 1]!.name}>`);
    for (const unclosed of stack) if (unclosed.span) unclosed.span.end = xml.length;
  }
  return { roots, problems };
}

function namespaceDeclarations(startTag: string): Map<string, string> {
  const declared = new Map<string, string>();
  for (const m of startTag.matchAll(/\sxmlns(?::([\w.-]+))?\s*=\s*("[^"]*"|'[^']*')/g)) declared.set(m[1] ?? '', m[2]!);
  return declared;
}

/**
 * The record's XML as a standalone document: namespaces declared on an ancestor (`lidoWrap`, OAI `metadata`) that
 * the record uses are copied onto its root element, so the stored string parses on its own.
 */
function standaloneXml(xml: string, record: Span, ancestors: Span[]): string {
  const text = xml.slice(record.start, record.end);
  const rootTag = xml.slice(record.start, record.openEnd + 1);
  const own = namespaceDeclarations(rootTag);
  const used = new Set<string>();
  for (const m of text.matchAll(/<\/?([A-Za-z_][\w.-]*):[A-Za-z_]/g)) used.add(m[1]!);
  for (const m of text.matchAll(/\s([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*=/g)) used.add(m[1]!);
  used.delete('xml');
  used.delete('xmlns');
  const qname = /^<([^\s/>]+)/.exec(rootTag)?.[1] ?? '';
  if (!qname.includes(':')) used.add('');
  const added: string[] = [];
  for (const prefix of used) {
    if (own.has(prefix)) continue;
    for (const ancestor of [...ancestors].reverse()) {
      const value = namespaceDeclarations(xml.slice(ancestor.start, ancestor.openEnd + 1)).get(prefix);
      if (value === undefined) continue;
      // An unprefixed record inside an OAI envelope would otherwise land in the OAI namespace.
      if (prefix === '' && value.slice(1, -1) === OAI_NAMESPACE) break;
      added.push(prefix ? ` xmlns:${prefix}=${value}` : ` xmlns=${value}`);
      break;
    }
  }
  if (added.length === 0) return text;
  const at = 1 + qname.length;
  return text.slice(0, at) + added.join('') + text.slice(at);
}

function lineOf(xml: string, index: number): number {
  let line = 1;
  for (let i = xml.indexOf('\n'); i >= 0 && i < index; i = xml.indexOf('\n', i + 1)) line++;
  return line;
}

/** Best-effort record id from raw text, for skip reasons of records that could not be parsed. */
function guessIdentifier(text: string): string | undefined {
  const ids = [...text.matchAll(/<(?:[\w.-]+:)?lidoRecID\b([^>]*)>([^<]*)</g)].map((m) => ({
    pref: /pref\s*=\s*["']([^"']*)/.exec(m[1]!)?.[1]?.toLowerCase(),
    value: m[2]!.trim(),
  }));
  const usable = ids.filter((id) => id.value && (!id.pref || id.pref === 'preferred'));
  return (usable[usable.length - 1] ?? ids.find((id) => id.value))?.value;
}

// ---------------------------------------------------------------------------------------------------------------
// Documents

/** Parse a `lido`, `lidoWrap` or OAI-PMH document. Never throws. */
export function parseLidoDocument(xml: string): LidoParseResult {
  const result: LidoParseResult = { records: [], skipped: [], documentErrors: [] };
  try {
    const problem = wellFormednessError(xml);
    if (problem) result.documentErrors.push(`not well-formed XML: ${problem.message} (line ${problem.line})`);
    const { roots, problems } = scanElements(xml, 5);
    result.documentErrors.push(...problems);
    // Records are only checked one by one when the whole is not well-formed, to name the broken ones.
    const checkRecords = problem !== undefined;
    const root = roots[0];
    if (!root) {
      result.skipped.push({ reason: 'no XML element found in the document' });
      return result;
    }
    const rootName = root.name.toLowerCase();
    if (rootName === 'lido') {
      addLidoRecord(result, xml, root, [], undefined, checkRecords);
    } else if (rootName === 'lidowrap') {
      const records = root.children.filter((c) => c.name === 'lido');
      if (records.length === 0) result.skipped.push({ reason: 'lidoWrap holds no lido record' });
      for (const record of records) addLidoRecord(result, xml, record, [root], undefined, checkRecords);
    } else if (rootName === 'oai-pmh') {
      parseOaiEnvelope(result, xml, root, checkRecords);
    } else {
      result.skipped.push({ reason: `root element <${root.name}> is not lido, lidoWrap or OAI-PMH` });
    }
  } catch (error) {
    result.skipped.push({ reason: `document could not be read: ${messageOf(error)}` });
  }
  return result;
}

function parseOaiEnvelope(result: LidoParseResult, xml: string, root: Span, checkRecords: boolean): void {
  const oai: OaiEnvelope = { errors: [], headers: [] };
  result.oai = oai;
  for (const child of root.children) {
    const name = child.name.toLowerCase();
    if (name === 'responsedate') {
      oai.responseDate = cleanLine(textOf(firstParsed(xml, child)));
    } else if (name === 'error') {
      const el = firstParsed(xml, child);
      oai.errors.push({ code: attr(el, 'code') ?? 'unknown', message: cleanLine(textOf(el)) ?? '' });
    } else if (name !== 'request') {
      oai.verb = xml.slice(child.start + 1, child.openEnd).match(/^[^\s/>]+/)?.[0]?.replace(/^.*:/, '');
      for (const item of child.children) {
        const itemName = item.name.toLowerCase();
        if (itemName === 'record') addOaiRecord(result, oai, xml, item, [root, child], checkRecords);
        else if (itemName === 'header') pushHeader(oai, readHeader(firstParsed(xml, item)));
        else if (itemName === 'resumptiontoken') oai.resumptionToken = readResumptionToken(firstParsed(xml, item));
      }
    }
  }
}

function pushHeader(oai: OaiEnvelope, header: OaiHeader | undefined): void {
  if (header) oai.headers.push(header);
}

function addOaiRecord(result: LidoParseResult, oai: OaiEnvelope, xml: string, record: Span, ancestors: Span[], checkRecords: boolean): void {
  const headerSpan = record.children.find((c) => c.name === 'header');
  let header: OaiHeader | undefined;
  try {
    header = headerSpan ? readHeader(firstParsed(xml, headerSpan)) : undefined;
  } catch (error) {
    result.skipped.push({ reason: `OAI header could not be read: ${messageOf(error)}` });
    return;
  }
  pushHeader(oai, header);
  if (header?.deleted) {
    result.records.push({ record: deletedRecord(header) });
    return;
  }
  const metadata = record.children.find((c) => c.name === 'metadata');
  const first = metadata?.children[0];
  const identifier = header?.identifier;
  if (!metadata || !first) {
    result.skipped.push({ ...optional('identifier', identifier), reason: 'OAI record has no metadata' });
    return;
  }
  const lidos = first.name === 'lidoWrap' ? first.children.filter((c) => c.name === 'lido') : first.name === 'lido' ? [first] : [];
  if (lidos.length === 0) {
    result.skipped.push({ ...optional('identifier', identifier), reason: `OAI metadata holds <${first.name}>, not a LIDO record` });
    return;
  }
  const chain = first.name === 'lidoWrap' ? [...ancestors, record, metadata, first] : [...ancestors, record, metadata];
  for (const lido of lidos) addLidoRecord(result, xml, lido, chain, header, checkRecords);
}

function addLidoRecord(result: LidoParseResult, xml: string, span: Span, ancestors: Span[], header: OaiHeader | undefined, checkRecords: boolean): void {
  const text = xml.slice(span.start, span.end);
  const problem = checkRecords ? wellFormednessError(text) : undefined;
  if (problem) {
    result.skipped.push({
      ...optional('identifier', header?.identifier ?? guessIdentifier(text)),
      reason: `not well-formed XML: ${problem.message} (document line ${lineOf(xml, span.start) + problem.line - 1})`,
    });
    return;
  }
  let mapped: LidoMapResult;
  try {
    mapped = mapParsed(text, header);
  } catch (error) {
    mapped = { ok: false, skipped: { ...optional('identifier', header?.identifier ?? guessIdentifier(text)), reason: `mapping failed: ${messageOf(error)}` } };
  }
  if (mapped.ok) result.records.push({ record: mapped.record, xml: standaloneXml(xml, span, ancestors) });
  else result.skipped.push(mapped.skipped);
}

function firstParsed(xml: string, span: Span): XmlElement {
  const parsed = parseElement(xml.slice(span.start, span.end));
  return kids(parsed, span.name)[0] ?? {};
}

/** As oai-pmh.ts reads it: no identifier, no header; a missing datestamp is ''. */
function readHeader(el: XmlElement): OaiHeader | undefined {
  const identifier = cleanLine(textOf(kids(el, 'identifier')[0]));
  if (!identifier) return undefined;
  return {
    identifier,
    datestamp: cleanLine(textOf(kids(el, 'datestamp')[0])) ?? '',
    setSpecs: unique(kids(el, 'setSpec').map((s) => cleanLine(textOf(s)))),
    deleted: attr(el, 'status')?.toLowerCase() === 'deleted',
  };
}

function readResumptionToken(el: XmlElement): ResumptionToken {
  return {
    value: cleanLine(textOf(el)) ?? '',
    ...optional('completeListSize', integer(attr(el, 'completelistsize'))),
    ...optional('cursor', integer(attr(el, 'cursor'))),
    ...optional('expirationDate', attr(el, 'expirationdate')),
  };
}

function deletedRecord(header: OaiHeader): MappedRecord {
  return inFieldOrder({
    ...emptyRecord(header.identifier),
    oaiIdentifier: header.identifier,
    ...optional('datestamp', header.datestamp),
    setSpecs: header.setSpecs,
    deleted: true,
  });
}


// ---------------------------------------------------------------------------------------------------------------
// One record

/**
 * Map one LIDO record: the `lido` element as parsed by this module, or its XML text. The OAI header, when the record
 * came in an envelope, supplies the datestamp, setSpecs and the fallback identifier. Never throws.
 */
export function mapLidoRecord(node: XmlElement | string, header?: OaiHeader, options: { wellFormed?: boolean } = {}): LidoMapResult {
  let lido: XmlElement | undefined;
  if (typeof node === 'string') {
    // A record cut out of a document already validated whole (an OAI-PMH page) need not be validated again.
    const problem = options.wellFormed ? undefined : wellFormednessError(node);
    if (problem) {
      return { ok: false, skipped: { ...optional('identifier', header?.identifier ?? guessIdentifier(node)), reason: `not well-formed XML: ${problem.message} (line ${problem.line})` } };
    }
    return mapParsed(node, header);
  } else {
    // Accept the element itself or a parse result wrapping it.
    lido = node['lidoRecID'] || node['descriptiveMetadata'] || !node['lido'] ? node : kids(node, 'lido')[0];
  }
  try {
    return mapElement(lido ?? {}, header);
  } catch (error) {
    return { ok: false, skipped: { ...optional('identifier', header?.identifier), reason: `mapping failed: ${messageOf(error)}` } };
  }
}

/** Parse and map a record whose well-formedness is already established. */
function mapParsed(xml: string, header: OaiHeader | undefined): LidoMapResult {
  let lido: XmlElement | undefined;
  try {
    lido = kids(parseWellFormed(xml), 'lido')[0];
  } catch (error) {
    return { ok: false, skipped: { ...optional('identifier', header?.identifier ?? guessIdentifier(xml)), reason: `XML could not be parsed: ${messageOf(error)}` } };
  }
  if (!lido) return { ok: false, skipped: { ...optional('identifier', header?.identifier), reason: 'no lido element at the root' } };
  try {
    return mapElement(lido, header);
  } catch (error) {
    return { ok: false, skipped: { ...optional('identifier', header?.identifier ?? guessIdentifier(xml)), reason: `mapping failed: ${messageOf(error)}` } };
  }
}

interface Block {
  el: XmlElement;
  lang?: string;
}

function mapElement(lido: XmlElement, header: OaiHeader | undefined): LidoMapResult {
  const warnings: string[] = [];
  const recIds = kids(lido, 'lidoRecID')
    .map((el) => ({ value: cleanLine(textOf(el)), pref: lower(attr(el, 'pref')), type: lower(attr(el, 'type')), label: lower(attr(el, 'label')) }))
    .filter((id): id is typeof id & { value: string } => id.value !== undefined);
  // The Datahub serves a record under the last lidoRecID that is preferred or has no pref (array_pop).
  const usable = recIds.filter((id) => !id.pref || id.pref === 'preferred');
  let recordId = usable[usable.length - 1]?.value;
  if (!recordId && header?.identifier) {
    recordId = header.identifier;
    warnings.push('no preferred lidoRecID; the OAI identifier is the record id');
  }
  if (!recordId && recIds[0]) {
    recordId = recIds[0].value;
    warnings.push(`no preferred lidoRecID; using the ${recIds[0].pref ?? ''} lidoRecID ${recIds[0].value}`.replace('  ', ' '));
  }
  if (!recordId) {
    return { ok: false, skipped: { ...optional('identifier', header?.identifier), reason: 'record has no lidoRecID (no usable record id)' } };
  }
  // The record id is the mirror's key (`RECORD#{recordId}`), and DynamoDB refuses keys over 2048 bytes: every write
  // of such a record would fail (and, in a harvest, fail its page). Skipped with the reason instead.
  if (Buffer.byteLength(recordId, 'utf8') > MAX_RECORD_ID_BYTES) {
    return { ok: false, skipped: { identifier: recordId.slice(0, 200), reason: `the record id is longer than ${MAX_RECORD_ID_BYTES} bytes` } };
  }
  if (header?.identifier && header.identifier !== recordId) {
    warnings.push(`OAI identifier ${header.identifier} differs from the record's lidoRecID ${recordId}`);
  }

  const descriptive: Block[] = kids(lido, 'descriptiveMetadata').map((el) => ({ el, ...optional('lang', attr(el, 'lang')) }));
  const administrative: Block[] = kids(lido, 'administrativeMetadata').map((el) => ({ el, ...optional('lang', attr(el, 'lang')) }));
  const record = emptyRecord(recordId);
  if (header?.identifier) record.oaiIdentifier = header.identifier;
  if (header?.datestamp) record.datestamp = header.datestamp;
  if (header) record.setSpecs = header.setSpecs;

  const recordIDs = administrative.flatMap((b) => path(b.el, 'recordWrap/recordID')).map((el) => ({ value: cleanLine(textOf(el)), type: lower(attr(el, 'type')) }));
  const dataPid =
    recIds.find((id) => id.type === 'purl' && isUrl(id.value))?.value ??
    recIds.find((id) => id.label === 'datapid' && isUrl(id.value))?.value ??
    recordIDs.find((id) => id.type === 'global' && isUrl(id.value))?.value;
  if (dataPid) record.dataPid = dataPid;
  const published = kids(lido, 'objectPublishedID').map((el) => ({ value: cleanLine(textOf(el)), type: lower(attr(el, 'type')), label: lower(attr(el, 'label')) }));
  const workPid =
    published.find((id) => (id.label === 'workpid' || id.type === 'purl') && isUrl(id.value))?.value ??
    published.find((id) => isUrl(id.value))?.value;
  if (workPid) record.workPid = workPid;
  const local = recordIDs.find((id) => id.type === 'local' && id.value)?.value;
  if (local) record.localRecordId = local;

  const objectNumber = readObjectNumber(descriptive, warnings);
  if (objectNumber) {
    record.objectNumber = objectNumber;
    const normalised = cleanObjectNumber(objectNumber);
    if (normalised) record.objectNumberNormalised = normalised;
  }
  const institution = readInstitution(descriptive, administrative);
  if (institution) record.institution = institution;

  readTitles(descriptive, record);
  for (const b of descriptive) {
    for (const note of path(b.el, 'objectIdentificationWrap/objectDescriptionWrap/objectDescriptionSet/descriptiveNoteValue')) {
      addTo(record.descriptions, langOf(note, b), cleanBlock(textOf(note)));
    }
  }

  const production = descriptive.flatMap((b) =>
    path(b.el, 'eventWrap/eventSet/event')
      .filter(isProductionEvent)
      .map((el) => ({ el, ...optional('lang', b.lang) })),
  );
  record.creators = mergeCreators(production.flatMap(readCreators));
  record.dates = readDates(production);
  const period: LanguageMap = {};
  for (const ev of production) for (const term of path(ev.el, 'periodName/term')) addTo(period, langOf(term, ev), cleanLine(textOf(term)));
  if (Object.keys(period).length > 0) record.period = period;

  const objectTypes: Tagged[] = [];
  const categories: Tagged[] = [];
  const subjects: Tagged[] = [];
  for (const b of descriptive) {
    for (const el of path(b.el, 'objectClassificationWrap/objectWorkTypeWrap/objectWorkType')) pushConcept(objectTypes, readConcept(el, b.lang));
    for (const el of path(b.el, 'objectClassificationWrap/classificationWrap/classification')) {
      const type = normaliseType(attr(el, 'type'));
      if (!type || type === 'object category' || type === 'objectcategorie' || type === 'objectcategory') pushConcept(categories, readConcept(el, b.lang));
      else if (type === 'hoofdmotief' || type === 'main motif') pushConcept(subjects, readConcept(el, b.lang), { kind: 'concept', type: 'hoofdmotief' });
    }
    for (const subject of path(b.el, 'objectRelationWrap/subjectWrap/subjectSet/subject')) {
      const type = attr(subject, 'type');
      for (const el of kids(subject, 'subjectConcept')) pushConcept(subjects, readConcept(el, b.lang), { kind: 'concept', ...optional('type', type) });
      for (const el of path(subject, 'subjectActor/actor')) {
        pushConcept(subjects, readNamed(el, 'nameActorSet/appellationValue', 'actorID', b.lang), { kind: 'actor', ...optional('type', type) });
      }
      for (const el of path(subject, 'subjectPlace/place')) {
        pushConcept(subjects, readNamed(el, 'namePlaceSet/appellationValue', 'placeID', b.lang), { kind: 'place', ...optional('type', type) });
      }
    }
  }
  record.objectTypes = objectTypes.map(finishConcept);
  record.categories = categories.map(finishConcept);
  record.subjects = subjects.map(finishSubject);

  const materials: Tagged[] = [];
  const techniques: Tagged[] = [];
  for (const ev of production) {
    for (const el of path(ev.el, 'eventMaterialsTech/materialsTech/termMaterialsTech')) {
      pushConcept(/techni/i.test(attr(el, 'type') ?? '') ? techniques : materials, readConcept(el, ev.lang));
    }
    for (const el of path(ev.el, 'eventMaterialsTech/displayMaterialsTech')) pushUnique(record.materialsDisplay, cleanLine(textOf(el)));
  }
  record.materials = materials.map(finishConcept);
  record.techniques = techniques.map(finishConcept);

  readDimensions(descriptive, record);
  record.relatedWorks = readRelatedWorks(descriptive, warnings);
  readRights(administrative, record);
  record.representations = readRepresentations(administrative);
  if (warnings.length > 0) record.warnings = unique(warnings);
  return { ok: true, record: inFieldOrder(record) };
}

const FIELD_ORDER: (keyof MappedRecord)[] = [
  'recordId', 'oaiIdentifier', 'datestamp', 'setSpecs', 'deleted', 'dataPid', 'workPid', 'localRecordId', 'objectNumber',
  'objectNumberNormalised', 'institution', 'titles', 'alternativeTitles', 'descriptions', 'creators', 'dates', 'period',
  'objectTypes', 'categories', 'materials', 'techniques', 'materialsDisplay', 'dimensions', 'dimensionsDisplay', 'subjects',
  'relatedWorks', 'rights', 'representations', 'warnings',
];

/** The documented field order, so stored items read top-down like the type. */
function inFieldOrder(record: MappedRecord): MappedRecord {
  const ordered: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) if (record[key] !== undefined) ordered[key] = record[key];
  return ordered as unknown as MappedRecord;
}

const OBJECT_NUMBER_TYPES = new Set(['object number', 'objectnummer', 'objectnumber']);
const INVENTORY_NUMBER_TYPES = new Set(['inventory number', 'inventarnummer', 'inventarisnummer', 'inventory', 'inventaris']);

function readObjectNumber(descriptive: Block[], warnings: string[]): string | undefined {
  const ids = descriptive
    .flatMap((b) => path(b.el, 'objectIdentificationWrap/repositoryWrap/repositorySet/workID'))
    .map((el) => ({ value: cleanLine(textOf(el)), type: normaliseType(attr(el, 'type')) }))
    .filter((id): id is typeof id & { value: string } => id.value !== undefined);
  const chosen =
    ids.find((id) => id.type !== undefined && OBJECT_NUMBER_TYPES.has(id.type)) ??
    ids.find((id) => id.type !== undefined && INVENTORY_NUMBER_TYPES.has(id.type)) ??
    ids[0];
  const others = unique(ids.filter((id) => id.type === chosen?.type).map((id) => id.value));
  if (others.length > 1) warnings.push(`several object numbers (${others.join(', ')}); using ${others[0]}`);
  return chosen?.value;
}

interface LegalBody {
  names: { lang: string; value: string }[];
  weblink?: string;
  id?: string;
}

function readLegalBody(el: XmlElement, blockLang: string | undefined): LegalBody {
  const names = path(el, 'legalBodyName/appellationValue')
    .map((v) => ({ lang: langOf(v, blockLang), value: cleanLine(textOf(v)) }))
    .filter((n): n is { lang: string; value: string } => n.value !== undefined);
  const weblink = kids(el, 'legalBodyWeblink').map((w) => cleanLine(textOf(w))).find((w) => w !== undefined);
  const id = kids(el, 'legalBodyID').map((w) => cleanLine(textOf(w))).find((w) => w !== undefined);
  return { names, ...optional('weblink', weblink), ...optional('id', id) };
}

function readInstitution(descriptive: Block[], administrative: Block[]): Institution | undefined {
  const repositories = descriptive.flatMap((b) =>
    path(b.el, 'objectIdentificationWrap/repositoryWrap/repositorySet')
      .filter((set) => lower(attr(set, 'type')) !== 'former')
      .flatMap((set) => kids(set, 'repositoryName'))
      .map((el) => readLegalBody(el, b.lang)),
  );
  const sources = administrative.flatMap((b) => path(b.el, 'recordWrap/recordSource').map((el) => readLegalBody(el, b.lang)));
  const fromRepository = repositories.some((r) => r.names.length > 0);
  const group = (fromRepository ? repositories : sources).filter((r) => r.names.length > 0);
  const primary = group[0];
  if (!primary) return undefined;
  const name = primary.names[0]!.value;
  const label: LanguageMap = {};
  for (const body of group) for (const n of body.names) addTo(label, n.lang, n.value);
  // The recordSource usually names the same museum and is where the weblink lives.
  const sameBody = [...group, ...repositories, ...sources].filter((b) => b.names.some((n) => n.value.toLowerCase() === name.toLowerCase()));
  const weblink = sameBody.map((b) => b.weblink).find((w) => w !== undefined);
  const id = sameBody.map((b) => b.id).find((w) => w !== undefined);
  return { name, label, ...optional('weblink', weblink), ...optional('id', id) };
}

function readTitles(descriptive: Block[], record: MappedRecord): void {
  const main: [string, string][] = [];
  const translations: [string, string][] = [];
  const unknown: string[] = [];
  for (const b of descriptive) {
    for (const el of path(b.el, 'objectIdentificationWrap/titleWrap/titleSet/appellationValue')) {
      const value = cleanLine(textOf(el));
      if (!value) continue;
      const own = attr(el, 'lang');
      const alternate = lower(attr(el, 'pref')) === 'alternate';
      // 2019 VKC records list fr/en/de titles as alternates without a language: they are not in the block's language.
      if (alternate && !own) unknown.push(value);
      else (alternate ? translations : main).push([own ?? b.lang ?? 'none', value]);
    }
  }
  for (const [lang, value] of [...main, ...translations]) addTo(record.titles, lang, value);
  const known = new Set(Object.values(record.titles).flat());
  record.alternativeTitles = unique(unknown.filter((t) => !known.has(t)));
}

const PRODUCTION_TERMS = /^(production|creation|vervaardiging|productie|creatie|herstellung|création|fabrication)$/i;

function isProductionEvent(event: XmlElement): boolean {
  return path(event, 'eventType/term').some((t) => PRODUCTION_TERMS.test(cleanLine(textOf(t)) ?? ''));
}

function readCreators(event: { el: XmlElement; lang?: string }): Creator[] {
  const creators: Creator[] = [];
  for (const eventActor of kids(event.el, 'eventActor')) {
    const roles = kids(eventActor, 'actorInRole');
    // The standard wraps actors in actorInRole; some exports put the actor straight under eventActor.
    for (const container of roles.length > 0 ? roles : [eventActor]) {
      const actor = kids(container, 'actor')[0];
      if (!actor) continue;
      const names = path(actor, 'nameActorSet/appellationValue')
        .map((el) => ({ value: cleanLine(textOf(el)), pref: lower(attr(el, 'pref')) }))
        .filter((n): n is { value: string; pref: string | undefined } => n.value !== undefined);
      const name = (names.find((n) => n.pref === 'preferred') ?? names.find((n) => !n.pref) ?? names[0])?.value;
      if (!name) continue;
      const creator: Creator = {
        name,
        altNames: unique(names.map((n) => n.value).filter((n) => n !== name)),
        uris: unique(kids(actor, 'actorID').map((el) => cleanLine(textOf(el))).filter(isUrl)),
      };
      const role = path(container, 'roleActor/term').map((t) => cleanLine(textOf(t))).find((t) => t !== undefined);
      if (role) creator.role = role;
      const qualifier = kids(container, 'attributionQualifierActor').map((q) => cleanLine(textOf(q))).find((q) => q !== undefined);
      if (qualifier) creator.attributionQualifier = qualifier;
      const birth = path(actor, 'vitalDatesActor/earliestDate').map((d) => cleanDate(textOf(d))).find((d) => d !== undefined);
      if (birth) creator.birth = birth;
      const death = path(actor, 'vitalDatesActor/latestDate').map((d) => cleanDate(textOf(d))).find((d) => d !== undefined);
      if (death) creator.death = death;
      creators.push(creator);
    }
  }
  return creators;
}

/** The same actor repeated (per-language blocks, duplicated events) is one creator. */
function mergeCreators(creators: Creator[]): Creator[] {
  const merged: Creator[] = [];
  for (const creator of creators) {
    const same = merged.find(
      (m) => m.name.toLowerCase() === creator.name.toLowerCase() || (m.uris.some((u) => creator.uris.includes(u)) && m.role === creator.role),
    );
    if (!same) {
      merged.push(creator);
      continue;
    }
    same.altNames = unique([...same.altNames, ...creator.altNames, creator.name].filter((n) => n !== same.name));
    same.uris = unique([...same.uris, ...creator.uris]);
    for (const key of ['role', 'attributionQualifier', 'birth', 'death'] as const) {
      if (same[key] === undefined && creator[key] !== undefined) same[key] = creator[key];
    }
  }
  return merged;
}

function readDates(production: { el: XmlElement }[]): ProductionDates {
  for (const ev of production) {
    const eventDate = kids(ev.el, 'eventDate');
    const display = path(eventDate, 'displayDate').map((d) => cleanLine(textOf(d))).find((d) => d !== undefined);
    const earliest = path(eventDate, 'date/earliestDate').map((d) => cleanDate(textOf(d))).find((d) => d !== undefined);
    const latest = path(eventDate, 'date/latestDate').map((d) => cleanDate(textOf(d))).find((d) => d !== undefined);
    if (display || earliest || latest) return { ...optional('display', display), ...optional('earliest', earliest), ...optional('latest', latest) };
  }
  return {};
}

// Concepts ---------------------------------------------------------------------------------------------------

interface Tagged {
  label: LanguageMap;
  uris: string[];
  /** Identity for merging repeats: every conceptID (source|value), else the label. */
  keys: string[];
  kind?: Subject['kind'];
  type?: string;
  iconclass?: string;
}

function conceptUri(value: string, source: string | undefined): string | undefined {
  if (isUrl(value)) return value;
  const src = (source ?? '').toLowerCase();
  const aat = /^(?:aat:)?(\d{9})$/i.exec(value);
  if (aat && (src === 'aat' || value.toLowerCase().startsWith('aat:'))) return `http://vocab.getty.edu/aat/${aat[1]}`;
  if (src.includes('iconclass')) return iconclassUri(value);
  return undefined;
}

function iconclassUri(notation: string): string {
  return `http://iconclass.org/${encodeURI(notation.replace(/\s+/g, ''))}`;
}

function readConcept(el: XmlElement, blockLang: string | undefined): Tagged | undefined {
  const terms = kids(el, 'term').filter((t) => lower(attr(t, 'addedsearchterm')) !== 'yes');
  const preferred = terms.filter((t) => lower(attr(t, 'pref')) !== 'alternate');
  const label: LanguageMap = {};
  for (const t of preferred.length > 0 ? preferred : terms) addTo(label, langOf(t, blockLang), cleanLine(textOf(t)));
  const ids = kids(el, 'conceptID')
    .map((c) => ({ value: cleanLine(textOf(c)), source: attr(c, 'source') }))
    .filter((c): c is { value: string; source: string | undefined } => c.value !== undefined);
  const uris = unique(ids.map((c) => conceptUri(c.value, c.source)));
  const iconclassId = ids.find((c) => /iconclass/i.test(c.source ?? '') || /iconclass\.org\//i.test(c.value));
  const iconclass = iconclassId && (isUrl(iconclassId.value) ? decodeURIComponent(iconclassId.value.replace(/^.*iconclass\.org\/+/i, '')) : iconclassId.value);
  if (Object.keys(label).length === 0 && uris.length === 0) return undefined;
  return {
    label,
    uris,
    keys: ids.length > 0 ? ids.map((c) => `${(c.source ?? '').toLowerCase()}|${c.value}`) : [`label|${JSON.stringify(label)}`],
    ...optional('iconclass', iconclass || undefined),
  };
}

/** A depicted actor or place: its names as the label, its URL ids as URIs. */
function readNamed(el: XmlElement, namesPath: string, idName: string, blockLang: string | undefined): Tagged | undefined {
  const label: LanguageMap = {};
  const names = path(el, namesPath);
  const preferred = names.filter((n) => lower(attr(n, 'pref')) !== 'alternate');
  for (const n of preferred.length > 0 ? preferred : names) addTo(label, langOf(n, blockLang), cleanLine(textOf(n)));
  const uris = unique(kids(el, idName).map((i) => cleanLine(textOf(i))).filter(isUrl));
  if (Object.keys(label).length === 0) return undefined;
  return { label, uris, keys: uris.length > 0 ? uris : [`label|${JSON.stringify(label)}`] };
}

function pushConcept(list: Tagged[], concept: Tagged | undefined, extra: Partial<Tagged> = {}): void {
  if (!concept) return;
  const item = { ...concept, ...extra };
  // Per-language blocks repeat a concept under translated types ("description"/"Beschreibung"): ids decide.
  const same = list.find((c) => c.kind === item.kind && c.keys.some((k) => item.keys.includes(k)));
  if (!same) {
    list.push(item);
    return;
  }
  for (const [lang, values] of Object.entries(item.label)) for (const v of values) addTo(same.label, lang, v);
  same.uris = unique([...same.uris, ...item.uris]);
  same.keys = unique([...same.keys, ...item.keys]);
  if (!same.iconclass && item.iconclass) same.iconclass = item.iconclass;
  if (!same.type && item.type) same.type = item.type;
}

function finishConcept(c: Tagged): Concept {
  return { label: c.label, uris: c.uris };
}

function finishSubject(c: Tagged): Subject {
  return { label: c.label, uris: c.uris, kind: c.kind ?? 'concept', ...optional('type', c.type), ...optional('iconclass', c.iconclass) };
}

// Dimensions, relations, rights, resources -----------------------------------------------------------------------

/** "12,5" → 12.5, "1.234,5" → 1234.5, "205,0" → 205; anything else that is not a plain number is no value. */
export function parseMeasurement(raw: string | undefined): number | undefined {
  const value = raw?.replace(/\s+/g, '');
  if (!value) return undefined;
  let normalised: string;
  if (/^\d+(\.\d+)?$/.test(value)) normalised = value;
  else if (/^\d+,\d+$/.test(value)) normalised = value.replace(',', '.');
  else if (/^\d{1,3}(\.\d{3})+,\d+$/.test(value)) normalised = value.replace(/\./g, '').replace(',', '.');
  else if (/^\d{1,3}(,\d{3})+\.\d+$/.test(value)) normalised = value.replace(/,/g, '');
  else return undefined;
  const number = Number(normalised);
  return Number.isFinite(number) ? number : undefined;
}

function readDimensions(descriptive: Block[], record: MappedRecord): void {
  const seen = new Set<string>();
  for (const b of descriptive) {
    // The Design Museum Gent export puts the wrap next to objectIdentificationWrap instead of inside it.
    const sets = [...path(b.el, 'objectIdentificationWrap/objectMeasurementsWrap/objectMeasurementsSet'), ...path(b.el, 'objectMeasurementsWrap/objectMeasurementsSet')];
    for (const set of sets) {
      const display = kids(set, 'displayObjectMeasurements').map((d) => cleanLine(textOf(d))).find((d) => d !== undefined);
      pushUnique(record.dimensionsDisplay, display);
      for (const measurements of kids(set, 'objectMeasurements')) {
        const extent = kids(measurements, 'extentMeasurements').map((e) => cleanLine(textOf(e))).find((e) => e !== undefined);
        for (const ms of kids(measurements, 'measurementsSet')) {
          const value = parseMeasurement(cleanLine(textOf(kids(ms, 'measurementValue')[0])));
          // TMS exports write 0 for measurements nobody took ("Diameter 0").
          if (value === undefined || value === 0) continue;
          const dimension: Dimension = {
            ...optional('type', cleanLine(textOf(kids(ms, 'measurementType')[0]))),
            value,
            ...optional('unit', cleanLine(textOf(kids(ms, 'measurementUnit')[0]))),
            ...optional('extent', extent),
            ...optional('display', display),
          };
          const key = JSON.stringify(dimension);
          if (seen.has(key)) continue;
          seen.add(key);
          record.dimensions.push(dimension);
        }
      }
    }
  }
}

const RELATION_NAMES: Record<string, string> = {
  haspart: 'hasPart',
  heeftdeel: 'hasPart',
  bevat: 'hasPart',
  ispartof: 'isPartOf',
  isdeelvan: 'isPartOf',
  maaktdeeluitvan: 'isPartOf',
  deelvan: 'isPartOf',
  partof: 'isPartOf',
  teilvon: 'isPartOf',
  hatteil: 'hasPart',
  relatedto: 'relatedTo',
  relation: 'relatedTo',
  related: 'relatedTo',
  gerelateerdaan: 'relatedTo',
  verwantaan: 'relatedTo',
};

function relationName(uri: string | undefined, term: string | undefined): string {
  for (const candidate of [uri?.replace(/^.*[/#]/, ''), term]) {
    const key = candidate?.toLowerCase().replace(/[^a-z]/g, '');
    if (key && RELATION_NAMES[key]) return RELATION_NAMES[key];
  }
  return term ?? uri ?? 'relatedTo';
}

function readRelatedWorks(descriptive: Block[], warnings: string[]): RelatedWork[] {
  const works: RelatedWork[] = [];
  const seen = new Set<string>();
  for (const b of descriptive) {
    for (const set of path(b.el, 'objectRelationWrap/relatedWorksWrap/relatedWorkSet')) {
      const relUri = path(set, 'relatedWorkRelType/conceptID').map((c) => cleanLine(textOf(c))).find(isUrl);
      const relTerms = path(set, 'relatedWorkRelType/term');
      const preferredTerm = relTerms.filter((t) => lower(attr(t, 'pref')) !== 'alternate');
      const relTerm = (preferredTerm.length > 0 ? preferredTerm : relTerms).map((t) => cleanLine(textOf(t))).find((t) => t !== undefined);
      const sortOrder = integer(attr(set, 'sortorder'));
      for (const related of kids(set, 'relatedWork')) {
        const objects = kids(related, 'object');
        for (const object of objects.length > 0 ? objects : [related]) {
          const ids = kids(object, 'objectID')
            .map((el) => ({ value: cleanLine(textOf(el)), type: lower(attr(el, 'type')) }))
            .filter((id): id is { value: string; type: string | undefined } => id.value !== undefined);
          const recordId = ids.find((id) => id.type === 'oai')?.value;
          const pid = ids.find((id) => isUrl(id.value))?.value ?? kids(object, 'objectWebResource').map((w) => cleanLine(textOf(w))).find(isUrl);
          const localId = ids.find((id) => id.type === 'local' && !isUrl(id.value))?.value;
          const label = [...kids(related, 'displayObject'), ...kids(object, 'objectNote'), ...kids(set, 'displayRelatedWork')]
            .map((el) => cleanLine(textOf(el)))
            .find((l) => l !== undefined);
          if (!recordId && !pid && !localId && !label) continue;
          const work: RelatedWork = {
            relation: relationName(relUri, relTerm),
            ...optional('relationUri', relUri),
            ...optional('recordId', recordId),
            ...optional('pid', pid),
            ...optional('localId', localId),
            ...optional('label', label),
            ...optional('sortOrder', sortOrder),
          };
          // The same relation repeated in another language block is one relation (its first label wins).
          const key = JSON.stringify([work.relation, recordId, pid, localId, recordId || pid || localId ? '' : label]);
          if (seen.has(key)) continue;
          seen.add(key);
          works.push(work);
        }
      }
    }
  }
  const relationsByTarget = new Map<string, Set<string>>();
  for (const w of works) {
    const target = w.recordId ?? w.pid ?? w.localId ?? w.label!;
    relationsByTarget.set(target, (relationsByTarget.get(target) ?? new Set()).add(w.relation));
  }
  for (const [target, relations] of relationsByTarget) {
    if (relations.has('hasPart') && relations.has('isPartOf')) warnings.push(`contradictory relations to ${target}: both hasPart and isPartOf`);
  }
  return works;
}

function readRightsStatement(el: XmlElement): RightsStatement | undefined {
  const terms = path(el, 'rightsType/term');
  const preferred = terms.filter((t) => lower(attr(t, 'pref')) !== 'alternate');
  const termValues = (preferred.length > 0 ? preferred : terms).map((t) => cleanLine(textOf(t))).filter((t): t is string => t !== undefined);
  const uri = [...path(el, 'rightsType/conceptID').map((c) => cleanLine(textOf(c))), ...termValues].find(isUrl);
  const text = termValues.find((t) => !isUrl(t));
  const holder = path(el, 'rightsHolder/legalBodyName/appellationValue').map((h) => cleanLine(textOf(h))).find((h) => h !== undefined);
  if (!uri && !text && !holder) return undefined;
  return { ...optional('text', text), ...optional('uri', uri), ...optional('holder', holder) };
}

function pushStatement(list: RightsStatement[], statement: RightsStatement | undefined): void {
  if (statement && !list.some((s) => JSON.stringify(s) === JSON.stringify(statement))) list.push(statement);
}

function readRights(administrative: Block[], record: MappedRecord): void {
  for (const b of administrative) {
    for (const set of path(b.el, 'rightsWorkWrap/rightsWorkSet')) {
      const creditLine = kids(set, 'creditLine').map((c) => cleanLine(textOf(c))).find((c) => c !== undefined);
      if (creditLine && !record.rights.creditLine) record.rights.creditLine = creditLine;
      pushStatement(record.rights.statements, readRightsStatement(set));
    }
    for (const el of path(b.el, 'recordWrap/recordRights')) pushStatement(record.rights.metadata, readRightsStatement(el));
  }
}

function readRepresentations(administrative: Block[]): Representation[] {
  const representations: Representation[] = [];
  const seen = new Set<string>();
  for (const b of administrative) {
    for (const set of path(b.el, 'resourceWrap/resourceSet')) {
      const ids = kids(set, 'resourceID')
        .map((el) => ({ value: cleanLine(textOf(el)), label: lower(attr(el, 'label')) }))
        .filter((id): id is { value: string; label: string | undefined } => id.value !== undefined);
      const pid = ids.find((id) => id.label === 'representationpid')?.value ?? ids.find((id) => isUrl(id.value))?.value;
      const resourceId = ids.find((id) => !isUrl(id.value))?.value;
      const renditions = kids(set, 'resourceRepresentation');
      const url = path(renditions, 'linkResource').map((l) => cleanLine(textOf(l))).find((l) => l !== undefined);
      const type = path(set, 'resourceType/term').map((t) => cleanLine(textOf(t))).find((t) => t !== undefined) ?? renditions.map((r) => attr(r, 'type')).find((t) => t !== undefined);
      const rights: RightsStatement[] = [];
      for (const el of kids(set, 'rightsResource')) pushStatement(rights, readRightsStatement(el));
      if (!pid && !url && !resourceId) continue;
      const key = `${pid ?? ''}|${url ?? ''}|${resourceId ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      representations.push({
        ...optional('pid', pid),
        ...optional('url', url),
        ...optional('resourceId', resourceId),
        ...optional('sortOrder', integer(attr(set, 'sortorder'))),
        ...optional('type', type),
        rights,
      });
    }
  }
  return representations;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function kids(el: XmlElement | undefined, name: string): XmlElement[] {
  const value = el?.[name];
  return Array.isArray(value) ? value : [];
}

/** Routes split once: path() runs some hundred times a record. */
const ROUTES = new Map<string, string[]>();

/** All descendants along a `/`-separated path of element names. */
function path(from: XmlElement | XmlElement[], route: string): XmlElement[] {
  let names = ROUTES.get(route);
  if (!names) ROUTES.set(route, (names = route.split('/')));
  let current = Array.isArray(from) ? from : [from];
  for (const name of names) {
    const next: XmlElement[] = [];
    for (const el of current) for (const kid of kids(el, name)) next.push(kid);
    current = next;
  }
  return current;
}

function textOf(el: XmlElement | undefined): string | undefined {
  const value = el?.['#text'];
  return typeof value === 'string' ? value : undefined;
}

function attr(el: XmlElement | undefined, name: string): string | undefined {
  const value = el?.[`@_${name}`];
  return typeof value === 'string' ? cleanLine(value) : undefined;
}

function lower(value: string | undefined): string | undefined {
  return value?.toLowerCase();
}

/** `object-number`, `Object_Number` → `object number`. */
function normaliseType(value: string | undefined): string | undefined {
  return value?.toLowerCase().replace(/[-_\s]+/g, ' ').trim() || undefined;
}

function langOf(el: XmlElement, block: { lang?: string } | string | undefined): string {
  const inherited = typeof block === 'string' ? block : block?.lang;
  return attr(el, 'lang') ?? inherited ?? 'none';
}

/** Placeholders the pipelines write where a value is required: "n/a", Perl's HASH(0x…), unresolved Catmandu paths. */
const PLACEHOLDER = /^(n\/a|HASH\(0x[0-9a-f]+\)|(or_)?record(\.[A-Za-z_]+)+)$/i;

/** One-line value: whitespace collapsed, Adlib's leftover `;` separators trimmed, placeholders dropped. */
function cleanLine(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.replace(/\s+/g, ' ').replace(/^[\s;]+|[\s;]+$/g, '');
  return value === '' || PLACEHOLDER.test(value) ? undefined : value;
}

/** Multi-line text (descriptions): line breaks kept as `\n`, outer whitespace trimmed, placeholders dropped. */
function cleanBlock(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').trim();
  return value === '' || PLACEHOLDER.test(value) ? undefined : value;
}

/** Dates as written; "0", which the Catmandu fixes write for unknown dates, is no date. */
function cleanDate(raw: string | undefined): string | undefined {
  const value = cleanLine(raw);
  return value === undefined || /^0+$/.test(value) ? undefined : value;
}

function isUrl(value: string | undefined): boolean {
  return value !== undefined && /^https?:\/\/\S+$/i.test(value);
}

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

function addTo(map: LanguageMap, lang: string, value: string | undefined): void {
  if (value === undefined) return;
  const list = (map[lang] ??= []);
  if (!list.includes(value)) list.push(value);
}

function pushUnique(list: string[], value: string | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

function unique(values: (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) pushUnique(out, v);
  return out;
}

/** `{ key: value }` when the value is defined, else `{}`: keeps absent fields absent under exactOptionalPropertyTypes-style use. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The OAI-PMH 2.0 protocol as a harvester needs it: request URLs, and responses parsed into headers, raw record
 * metadata, resumption tokens and errors. Pure: the caller does the HTTP.
 *
 * Record metadata is kept as the exact XML text the repository sent (fast-xml-parser stop nodes), so the mirror
 * stores the record as published and the LIDO mapping parses it separately.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type OaiVerb = 'Identify' | 'ListRecords' | 'ListIdentifiers' | 'GetRecord' | 'ListSets' | 'ListMetadataFormats';

export interface ListArguments {
  metadataPrefix: string;
  set?: string;
  from?: string;
  until?: string;
}

export interface OaiHeader {
  identifier: string;
  datestamp: string;
  setSpecs: string[];
  /** `status="deleted"`: the repository withdrew the record. */
  deleted: boolean;
}

export interface OaiRecord {
  header: OaiHeader;
  /** The XML inside `<metadata>`, verbatim; absent for deleted records. */
  metadata?: string;
}

export interface ResumptionToken {
  /** Empty on the last page. */
  value: string;
  completeListSize?: number;
  cursor?: number;
  expirationDate?: string;
}

export interface OaiError {
  code: string;
  message: string;
}

export interface OaiResponse {
  responseDate?: string;
  errors: OaiError[];
  records: OaiRecord[];
  /** ListIdentifiers' headers, or the records' headers. */
  headers: OaiHeader[];
  /** Records or headers without an identifier: nothing can be done with them but report them. */
  unidentified: number;
  resumptionToken?: ResumptionToken;
  identify?: { repositoryName?: string; baseURL?: string; granularity: 'YYYY-MM-DD' | 'YYYY-MM-DDThh:mm:ssZ'; deletedRecord?: string; earliestDatestamp?: string };
}

export class OaiProtocolError extends Error {}

/** A request URL. A resumption token must be the only argument besides the verb (OAI-PMH §3.5). */
export function oaiRequestUrl(baseUrl: string, verb: OaiVerb, args: Partial<ListArguments> & { resumptionToken?: string; identifier?: string } = {}): string {
  const url = new URL(baseUrl);
  url.search = '';
  url.searchParams.set('verb', verb);
  if (args.resumptionToken) {
    url.searchParams.set('resumptionToken', args.resumptionToken);
    return url.toString();
  }
  for (const key of ['metadataPrefix', 'set', 'from', 'until', 'identifier'] as const) {
    const value = args[key];
    if (value) url.searchParams.set(key, value);
  }
  return url.toString();
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // The metadata's inner XML is kept as text: it is the record, stored verbatim and mapped separately.
  stopNodes: ['*.metadata'],
  isArray: (name) => ['record', 'header', 'setSpec', 'error'].includes(name),
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // isArray goes by name alone: no path string for every element.
  jPath: false,
});

type Node = Record<string, unknown>;

export function parseOaiResponse(xml: string): OaiResponse {
  // The parser is lenient; a page cut off by a network fault must be caught here, not harvested half.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new OaiProtocolError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let document: Node;
  try {
    document = parser.parse(xml) as Node;
  } catch (error) {
    throw new OaiProtocolError(`not well-formed XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = document['OAI-PMH'] as Node | undefined;
  if (!root || typeof root !== 'object') throw new OaiProtocolError('not an OAI-PMH response (no OAI-PMH root element)');
  const response: OaiResponse = { errors: [], records: [], headers: [], unidentified: 0 };
  const responseDate = text(root.responseDate);
  if (responseDate) response.responseDate = responseDate;
  for (const error of (root.error as unknown[] | undefined) ?? []) {
    response.errors.push({ code: attribute(error, 'code') ?? 'unknown', message: text(error) ?? '' });
  }
  const list = (root.ListRecords ?? root.GetRecord ?? root.ListIdentifiers) as Node | undefined;
  if (list && typeof list === 'object') {
    for (const record of (list.record as Node[] | undefined) ?? []) {
      const header = parseHeader((record.header as Node[] | undefined)?.[0]);
      if (!header) {
        response.unidentified++;
        continue;
      }
      const metadata = typeof record.metadata === 'string' ? record.metadata.trim() : undefined;
      response.records.push({ header, ...(metadata && !header.deleted ? { metadata } : {}) });
      response.headers.push(header);
    }
    for (const node of (list.header as Node[] | undefined) ?? []) {
      const header = parseHeader(node);
      if (header) response.headers.push(header);
      else response.unidentified++;
    }
    const token = list.resumptionToken;
    if (token !== undefined) response.resumptionToken = parseToken(token);
  }
  const identify = root.Identify as Node | undefined;
  if (identify && typeof identify === 'object') {
    const granularity = text(identify.granularity) === 'YYYY-MM-DD' ? 'YYYY-MM-DD' : 'YYYY-MM-DDThh:mm:ssZ';
    response.identify = { granularity };
    for (const key of ['repositoryName', 'baseURL', 'deletedRecord', 'earliestDatestamp'] as const) {
      const value = text(identify[key]);
      if (value) response.identify[key] = value;
    }
  }
  return response;
}

/**
 * The `from` of an incremental harvest: the previous harvest's start, minus a safety overlap (clock skew between
 * the repository and us, records stamped while the previous harvest ran), at the repository's granularity.
 */
export function incrementalFrom(previousStart: Date, granularity: 'YYYY-MM-DD' | 'YYYY-MM-DDThh:mm:ssZ', overlapSeconds: number): string {
  const from = new Date(previousStart.getTime() - overlapSeconds * 1000);
  const iso = from.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return granularity === 'YYYY-MM-DD' ? iso.slice(0, 10) : iso;
}

function parseHeader(node: Node | undefined): OaiHeader | undefined {
  if (!node) return undefined;
  const identifier = text(node.identifier);
  if (!identifier) return undefined;
  return {
    identifier,
    datestamp: text(node.datestamp) ?? '',
    setSpecs: ((node.setSpec as unknown[] | undefined) ?? []).map((s) => text(s) ?? '').filter(Boolean),
    deleted: attribute(node, 'status') === 'deleted',
  };
}

function parseToken(node: unknown): ResumptionToken {
  const token: ResumptionToken = { value: text(node) ?? '' };
  const size = attribute(node, 'completeListSize');
  if (size !== undefined && /^\d+$/.test(size)) token.completeListSize = Number(size);
  const cursor = attribute(node, 'cursor');
  if (cursor !== undefined && /^\d+$/.test(cursor)) token.cursor = Number(cursor);
  const expiration = attribute(node, 'expirationDate');
  if (expiration) token.expirationDate = expiration;
  return token;
}

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim() || undefined;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && '#text' in node) return text((node as Node)['#text']);
  return undefined;
}

function attribute(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const value = (node as Node)[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A small OAI-PMH repository for tests and benchmarks, behaving like the Flemish data hub (PROFILE.md §2): stateless
 * base64-JSON resumption tokens, 25 records a page by default, `completeListSize`, an empty token on the last page,
 * `from`/`until` on datestamps (second granularity), sets, GetRecord, OAI errors with HTTP 400, and faults to inject:
 * 503 with Retry-After, a connection dropped mid-page, a token that goes bad.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RepositoryRecord {
  identifier: string;
  datestamp: string; // YYYY-MM-DDThh:mm:ssZ
  setSpecs: string[];
  /** The `lido:lido` element, verbatim. */
  xml: string;
  deleted?: boolean;
}

export type Fault = { kind: '503'; retryAfterSeconds: number } | { kind: 'drop' } | { kind: 'badResumptionToken' };

export interface OaiServer {
  url: string;
  records: RepositoryRecord[];
  pageSize: number;
  /** Faults served to the next requests, first in first out. */
  faults: Fault[];
  requests: string[];
  close(): Promise<void>;
}

interface TokenState {
  offset: number;
  metadataPrefix: string;
  set: string | null;
  from: string | null;
  until: string | null;
  verb: string;
}

export async function startOaiServer(records: RepositoryRecord[], options: { pageSize?: number } = {}): Promise<OaiServer> {
  const state: OaiServer = {
    url: '',
    records,
    pageSize: options.pageSize ?? 25,
    faults: [],
    requests: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    state.requests.push(url.search);
    const fault = state.faults.shift();
    if (fault?.kind === '503') {
      res.writeHead(503, { 'retry-after': String(fault.retryAfterSeconds), 'content-type': 'text/plain' }).end('busy');
      return;
    }
    const reply = (status: number, body: string) => {
      if (fault?.kind === 'drop') {
        // Half a page, then the connection dies: what a timeout or a network fault looks like to the client.
        res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
        res.write(body.slice(0, Math.floor(body.length / 2)));
        res.socket?.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' }).end(body);
    };
    const params = Object.fromEntries(url.searchParams);
    const error = (code: string, message: string) => reply(400, envelope(`<request>${state.url}</request><error code="${code}">${escape(message)}</error>`));
    const verb = params.verb;
    if (verb === 'Identify') {
      reply(200, envelope(`<request verb="Identify">${state.url}</request><Identify><repositoryName>Test hub</repositoryName><baseURL>${state.url}</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>test@example.org</adminEmail><earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp><deletedRecord>no</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>`));
      return;
    }
    const recordXml = (r: RepositoryRecord, headerOnly: boolean) => {
      const header = `<header${r.deleted ? ' status="deleted"' : ''}><identifier>${escape(r.identifier)}</identifier><datestamp>${r.datestamp}</datestamp>${r.setSpecs.map((s) => `<setSpec>${escape(s)}</setSpec>`).join('')}</header>`;
      return headerOnly ? header : `<record>${header}${r.deleted ? '' : `<metadata>${r.xml}</metadata>`}</record>`;
    };
    if (verb === 'GetRecord') {
      if (Object.keys(params).some((k) => !['verb', 'identifier', 'metadataPrefix'].includes(k)) || !params.identifier) return error('badArgument', 'GetRecord takes identifier and metadataPrefix');
      if (params.metadataPrefix !== 'oai_lido') return error('cannotDisseminateFormat', 'only oai_lido');
      const found = state.records.find((r) => r.identifier === params.identifier);
      if (!found) return error('idDoesNotExist', `no record ${params.identifier}`);
      reply(200, envelope(`<request verb="GetRecord">${state.url}</request><GetRecord>${recordXml(found, false)}</GetRecord>`));
      return;
    }
    if (verb !== 'ListRecords' && verb !== 'ListIdentifiers') return error('badVerb', `unsupported verb ${verb ?? ''}`);
    let list: TokenState;
    if (params.resumptionToken !== undefined) {
      if (Object.keys(params).length !== 2) return error('badArgument', 'resumptionToken must be the only argument');
      const decoded = decodeToken(params.resumptionToken);
      if (!decoded || fault?.kind === 'badResumptionToken') return error('badResumptionToken', 'An invalid resumptionToken was given');
      list = decoded;
    } else {
      const known = new Set(['verb', 'metadataPrefix', 'set', 'from', 'until']);
      if (Object.keys(params).some((k) => !known.has(k))) return error('badArgument', 'unknown argument');
      if (params.metadataPrefix !== 'oai_lido') return error('cannotDisseminateFormat', 'only oai_lido');
      list = { offset: 0, metadataPrefix: 'oai_lido', set: params.set ?? null, from: params.from ?? null, until: params.until ?? null, verb };
    }
    const matching = state.records
      .filter((r) => (!list.set || r.setSpecs.includes(list.set)) && (!list.from || r.datestamp >= normalise(list.from)) && (!list.until || r.datestamp <= normalise(list.until, true)))
      .sort((a, b) => (a.datestamp < b.datestamp ? -1 : a.datestamp > b.datestamp ? 1 : a.identifier.localeCompare(b.identifier)));
    if (matching.length === 0) return error('noRecordsMatch', 'no records match');
    const page = matching.slice(list.offset, list.offset + state.pageSize);
    const next = list.offset + state.pageSize < matching.length ? encodeToken({ ...list, offset: list.offset + state.pageSize }) : '';
    const token = `<resumptionToken completeListSize="${matching.length}">${next}</resumptionToken>`;
    const items = page.map((r) => recordXml(r, verb === 'ListIdentifiers'));
    reply(200, envelope(`<request verb="${verb}">${state.url}</request><${verb}>${items.join('\n')}${token}</${verb}>`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oai`;
  return state;
}

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}</responseDate>${body}</OAI-PMH>`;
}

/** Day-granularity arguments cover the whole day, as OAI-PMH §3.3.1 reads them. */
function normalise(datestamp: string, untilEnd = false): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(datestamp) ? `${datestamp}T${untilEnd ? '23:59:59' : '00:00:00'}Z` : datestamp;
}

function encodeToken(state: TokenState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64');
}

function decodeToken(token: string): TokenState | undefined {
  try {
    const state = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as TokenState;
    return typeof state.offset === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

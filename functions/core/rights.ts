/**
 * The IIIF `rights` URI of a data-hub record, decided from the record first and the VKC authority files second.
 *
 * Order (the first step that yields a valid URI wins; `reasoning` says which and why):
 *  1. `record-uri`: a URI in the work's rights (`rightsWorkSet/rightsType/conceptID`).
 *  2. `credit-line`: recognisable text in the work's credit line, then in its rights-type terms
 *     ("CC0", "CC BY-SA 4.0", "Public Domain", "Publiek domein", "© SABAM Belgium 2021").
 *  3. `record-uri`: a URI in the images' rights (`resourceSet/rightsResource`). After the work's own rights, because
 *     a photograph's licence cannot free a work that is still in copyright.
 *  4. `authority-rights`: the record's row in RIGHTS.csv (by data PID, else object number), read like a credit line.
 *  5. Copyrights.csv (creators' public-domain years): every creator public domain by `currentYear` →
 *     `authority-public-domain` with the Public Domain Mark; any creator still protected → `authority-rights` with InC.
 *  6. `none`: no URI. Unlike the predecessor, nothing is emitted for "don't know": its catch-all
 *     `https://rightsstatements.org/page/UND/1.0/` was not even a valid statement URI, and "Copyright Undetermined"
 *     is a claim someone has to make, not a default. A manifest builder may choose to state UND explicitly.
 *
 * Independently of the step that decided, `publicDomainYear` carries the year every creator is public domain when
 * Copyrights.csv knows it for all of them: works enter the public domain on 1 January without anyone editing the
 * record, and the access policy (functions/core/access-policy.ts) needs that date, also to see past a stale "© SABAM".
 *
 * Only URIs the IIIF `rights` property admits come out, in canonical form: Creative Commons licences and public
 * domain tools over http (IIIF's canonical form, IIIF/api#1874, which its validators require), RightsStatements.org statements as `http://rightsstatements.org/vocab/{id}/1.0/`
 * (canonicalised by {@link iiifRightsUri}, then checked against the two vocabularies so no made-up id passes).
 */
import { iiifRightsUri } from './info-json.ts';
import { cleanObjectNumber, type Creator, type MappedRecord, type RightsStatement } from './record.ts';

export const CC0 = 'http://creativecommons.org/publicdomain/zero/1.0/';
export const PUBLIC_DOMAIN_MARK = 'http://creativecommons.org/publicdomain/mark/1.0/';
export const IN_COPYRIGHT = 'http://rightsstatements.org/vocab/InC/1.0/';

export type RightsSource = 'record-uri' | 'credit-line' | 'authority-rights' | 'authority-public-domain' | 'none';

export interface RightsDecision {
  uri?: string;
  source: RightsSource;
  reasoning: string;
  /**
   * The first year (from 1 January) every creator of the work is public domain: the latest `publicDomainYear`
   * Copyrights.csv gives for the work's creators. Set whenever the file gives a year for every creator, whatever step
   * decided `uri`, so a decision made today still knows when it expires (functions/core/access-policy.ts opens the
   * work that day). Absent when a creator is missing from the file or has no year there, or the record has no creators.
   *
   * It may contradict `uri`: a credit line "© SABAM" on a work whose creators all died more than 70 years ago keeps
   * its InC URI here (this module reports what the sources say), and the reasoning notes the claim is out of date;
   * the access policy then opens it with the Public Domain Mark.
   */
  publicDomainYear?: number;
}

/** One row of RIGHTS.csv: an object's rights text ("© SABAM BELGIUM 2011"), often empty. */
export interface AuthorityObjectRights {
  objectNumber?: string;
  dataPid?: string;
  rights?: string;
}

/** One row of Copyrights.csv. */
export interface CreatorCopyright {
  /** Inverted name as the museums write it ("Navez, François-Joseph"). */
  name: string;
  nameNaturalOrder?: string;
  death?: string;
  /** First year the creator's works are public domain (death + 71). */
  publicDomainYear?: number;
  /** "Public domain / CC-PDM" or "Auteursrechtplichtig / © SABAM", as of the file's export. */
  legalStatus?: string;
  /** The file's own statement URI (creativeCommons, else rightsStatements column). */
  uri?: string;
}

export interface RightsAuthority {
  /** RIGHTS.csv rows by data PID (scheme and trailing slash ignored). */
  byDataPid: Map<string, AuthorityObjectRights>;
  /** RIGHTS.csv rows by object number, both as written and cleaned (`0000.GRO0208.I` and `0000_GRO0208_I`). */
  byObjectNumber: Map<string, AuthorityObjectRights[]>;
  /** Copyrights.csv rows by normalised name (inverted and natural order both). */
  creatorsByName: Map<string, CreatorCopyright[]>;
  /** Copyrights.csv rows by the sorted tokens of their names ("Jonghe, Jean-Baptiste De" = "De Jonghe, Jean-Baptiste"). */
  creatorsByTokens: Map<string, CreatorCopyright[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// URIs and text

/** RightsStatements.org statement ids, in their canonical case. */
const RIGHTS_STATEMENTS = ['InC', 'InC-OW-EU', 'InC-EDU', 'InC-NC', 'InC-RUU', 'NoC-CR', 'NoC-NC', 'NoC-OKLR', 'NoC-US', 'CNE', 'UND', 'NKC'];
const CC_LICENCE = /^http:\/\/creativecommons\.org\/licenses\/(by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)\/(1\.0|2\.0|2\.5|3\.0|4\.0)\/([a-z]{2}\/)?$/;
const CC_PUBLIC_DOMAIN = /^http:\/\/creativecommons\.org\/publicdomain\/(zero|mark)\/1\.0\/$/;

/**
 * The canonical IIIF rights URI a candidate stands for, or `undefined`. Accepts the forms people paste: `www.`,
 * https for RightsStatements.org, missing trailing slash, `legalcode`/`deed.nl` pages, query strings, and the
 * statement pages `rightsstatements.org/page/{id}/1.0/` (the HTML rendering of `…/vocab/{id}/1.0/`).
 */
export function canonicalRightsUri(candidate: string | undefined): string | undefined {
  if (!candidate) return undefined;
  const value = candidate
    .trim()
    .replace(/[)\]>.,;]+$/, '')
    .replace(/[?#].*$/, '')
    .replace(/^(https?:\/\/)www\./i, '$1')
    .replace(/^(https?:\/\/rightsstatements\.org\/)page\//i, '$1vocab/')
    .replace(/\/(legalcode|deed\.[a-z-]+)(\.[a-z]+)?$/i, '/');
  const uri = iiifRightsUri(value);
  if (!uri) return undefined;
  const statement = /^http:\/\/rightsstatements\.org\/vocab\/([^/]+)\/1\.0\/$/.exec(uri);
  if (statement) {
    const id = RIGHTS_STATEMENTS.find((s) => s.toLowerCase() === statement[1]!.toLowerCase());
    return id ? `http://rightsstatements.org/vocab/${id}/1.0/` : undefined;
  }
  const cc = uri.toLowerCase();
  return CC_LICENCE.test(cc) || CC_PUBLIC_DOMAIN.test(cc) ? cc : undefined;
}

const CC_ORDER = ['by', 'nc', 'sa', 'nd'];

/**
 * A rights URI recognised in free text (credit lines, RIGHTS.csv, rights-type terms), with what was recognised.
 * Explicit licences first, then copyright claims, then public-domain phrases: "© SABAM" outranks a stray "public
 * domain" elsewhere in the same line, as it did for the predecessor.
 */
export function rightsFromText(text: string | undefined): { uri: string; matched: string } | undefined {
  if (!text) return undefined;
  for (const url of text.match(/https?:\/\/[^\s"'<>]+/gi) ?? []) {
    const uri = canonicalRightsUri(url);
    if (uri) return { uri, matched: url };
  }
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  if (/\bcc[\s-]?(0|zero)\b|creative commons zero/.test(folded)) return { uri: CC0, matched: 'CC0' };
  if (/\b(cc[\s-]?)?pdm\b|public domain mark/.test(folded)) return { uri: PUBLIC_DOMAIN_MARK, matched: 'Public Domain Mark' };
  const licence = /\bcc[\s-]+(by(?:[\s-]+(?:nc|sa|nd)){0,2})(?:[\s-]+v?(\d\.\d))?\b/.exec(folded);
  if (licence) {
    const parts = licence[1]!.split(/[\s-]+/).sort((a, b) => CC_ORDER.indexOf(a) - CC_ORDER.indexOf(b));
    // Without a version the licence is ambiguous; guessing one would invent a URI.
    const uri = licence[2] ? canonicalRightsUri(`http://creativecommons.org/licenses/${parts.join('-')}/${licence[2]}/`) : undefined;
    if (uri) return { uri, matched: licence[0].toUpperCase() };
  }
  const denial = /\bno (known )?copyright\b|copyright[\s-]free|(auteurs)?rechtenvrij/.test(folded);
  if (!denial && /©|\(c\)|\bcopyright\b|\bsabam\b|auteursrecht|\bin copyright\b|all rights reserved|alle rechten voorbehouden/.test(folded)) {
    return { uri: IN_COPYRIGHT, matched: /sabam/.test(folded) ? 'SABAM' : 'a copyright claim' };
  }
  if (/public domain|publiek domein|domaine public|gemeinfrei/.test(folded)) return { uri: PUBLIC_DOMAIN_MARK, matched: 'public domain' };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Authority files

/**
 * RFC 4180 CSV: quoted fields may hold commas, line breaks and doubled quotes; CRLF or LF line ends; a leading BOM
 * is ignored. A quote inside an unquoted field is kept as a character (lenient, as exports do that).
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted) {
      if (c === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** Rows as objects keyed by lower-cased header; throws when a required column is missing (a configuration error). */
function csvObjects(text: string, file: string, required: string[][]): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  const names = (header ?? []).map((h) => h.trim().toLowerCase());
  for (const alternatives of required) {
    if (!alternatives.some((a) => names.includes(a))) throw new Error(`${file}: no ${alternatives.join(' or ')} column in header "${(header ?? []).join(',')}"`);
  }
  return rows.map((cells) => Object.fromEntries(names.map((n, i) => [n, (cells[i] ?? '').trim()])));
}

function pidKey(pid: string): string {
  return pid.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '').toLowerCase();
}

function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function tokenKey(name: string): string {
  return nameKey(name).split(' ').sort().join(' ');
}

function addToIndex<T>(map: Map<string, T[]>, key: string, value: T): void {
  if (!key) return;
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

/**
 * The VKC authority files, parsed. RIGHTS.csv (`_id,dataPid,rights`) is per object: there is no per-institution
 * column. Copyrights.csv gives per creator `publicDomainYear`, `legalStatus` and a statement URI.
 */
export function parseRightsAuthority(rightsCsv: string, copyrightsCsv: string): RightsAuthority {
  const authority: RightsAuthority = { byDataPid: new Map(), byObjectNumber: new Map(), creatorsByName: new Map(), creatorsByTokens: new Map() };
  for (const row of csvObjects(rightsCsv, 'RIGHTS.csv', [['rights'], ['_id', 'objectnumber', 'datapid']])) {
    const objectNumber = row['_id'] || row['objectnumber'] || undefined;
    const dataPid = row['datapid'] || undefined;
    const entry: AuthorityObjectRights = { ...(objectNumber ? { objectNumber } : {}), ...(dataPid ? { dataPid } : {}), ...(row['rights'] ? { rights: row['rights'] } : {}) };
    if (dataPid) authority.byDataPid.set(pidKey(dataPid), entry);
    if (objectNumber) {
      addToIndex(authority.byObjectNumber, objectNumber, entry);
      addToIndex(authority.byObjectNumber, cleanObjectNumber(objectNumber), entry);
    }
  }
  const copyrights = csvObjects(copyrightsCsv, 'Copyrights.csv', [['name'], ['publicdomainyear', 'legalstatus', 'creativecommons', 'rightsstatements']]);
  for (const row of copyrights) {
    if (!row['name']) continue;
    const year = /^\d{4}$/.test(row['publicdomainyear'] ?? '') ? Number(row['publicdomainyear']) : undefined;
    const uri = canonicalRightsUri(row['creativecommons']) ?? canonicalRightsUri(row['rightsstatements']);
    const entry: CreatorCopyright = {
      name: row['name'],
      ...(row['namenaturalorder'] ? { nameNaturalOrder: row['namenaturalorder'] } : {}),
      ...(row['deathdatestart'] ? { death: row['deathdatestart'] } : {}),
      ...(year !== undefined ? { publicDomainYear: year } : {}),
      ...(row['legalstatus'] ? { legalStatus: row['legalstatus'] } : {}),
      ...(uri ? { uri } : {}),
    };
    for (const name of [entry.name, entry.nameNaturalOrder]) {
      if (!name) continue;
      addToIndex(authority.creatorsByName, nameKey(name), entry);
      addToIndex(authority.creatorsByTokens, tokenKey(name), entry);
    }
  }
  return authority;
}

// ---------------------------------------------------------------------------------------------------------------
// The decision

function fromStatements(statements: RightsStatement[], what: string): RightsDecision | undefined {
  const invalid: string[] = [];
  for (const s of statements) {
    if (!s.uri) continue;
    const uri = canonicalRightsUri(s.uri);
    if (uri) return { uri, source: 'record-uri', reasoning: `${what} rights URI ${s.uri}${uri === s.uri ? '' : ` (canonical ${uri})`}` };
    invalid.push(s.uri);
  }
  return invalid.length > 0 ? { source: 'none', reasoning: `${what} rights URI ${invalid.join(', ')} is not a Creative Commons or RightsStatements.org URI` } : undefined;
}

/** Host without `www.`/`resolver.`: the 2019 resolver PIDs (`resolver.mskgent.be`) name the same museum. */
function hostOf(pid: string | undefined): string | undefined {
  return pid ? /^https?:\/\/(?:www\.|resolver\.)?([^/]+)/i.exec(pid)?.[1]?.toLowerCase() : undefined;
}

function lastSegment(pid: string | undefined): string | undefined {
  return pid ? /\/([^/]+)\/?$/.exec(pid)?.[1] : undefined;
}

function authorityRow(record: MappedRecord, authority: RightsAuthority): { row: AuthorityObjectRights; how: string } | undefined {
  if (record.dataPid) {
    const row = authority.byDataPid.get(pidKey(record.dataPid));
    if (row) return { row, how: `data PID ${record.dataPid}` };
  }
  const recordHosts = [hostOf(record.dataPid), hostOf(record.workPid)].filter((h) => h !== undefined);
  const candidates: [string | undefined, string][] = [
    [record.objectNumber, 'object number'],
    [record.objectNumberNormalised, 'object number'],
    // Older records have no workID, but their PIDs end in the (cleaned) object number.
    [lastSegment(record.dataPid), 'the data PID ending'],
    [lastSegment(record.workPid), 'the work PID ending'],
  ];
  for (const [number, what] of candidates) {
    if (!number) continue;
    if (what !== 'object number' && recordHosts.length === 0) continue;
    // Object numbers repeat across museums: a row of another museum's domain is not this object.
    const rows = (authority.byObjectNumber.get(number) ?? []).filter((r) => {
      const host = hostOf(r.dataPid);
      return !host || recordHosts.length === 0 || recordHosts.includes(host);
    });
    if (rows.length === 1) return { row: rows[0]!, how: `${what} ${number}` };
  }
  return undefined;
}

type CreatorStatus = { status: 'public-domain' | 'in-copyright' | 'unknown'; detail: string };

/**
 * The year every creator is public domain, or `undefined` when any creator has no row or a row without a year. A name
 * matching several rows with different years (namesakes) counts with the latest: the reading that never opens a work
 * too early.
 */
function publicDomainYearOf(creators: Creator[], authority: RightsAuthority): number | undefined {
  if (creators.length === 0) return undefined;
  let latest = -Infinity;
  for (const creator of creators) {
    const entries = lookupCreator(creator, authority);
    if (entries.length === 0) return undefined;
    for (const e of entries) {
      if (e.publicDomainYear === undefined) return undefined;
      latest = Math.max(latest, e.publicDomainYear);
    }
  }
  return latest;
}

/** RightsStatements.org "In Copyright" and its variants (InC-EDU, InC-NC, InC-OW-EU, InC-RUU). */
export function isInCopyrightUri(uri: string | undefined): boolean {
  return uri !== undefined && /^http:\/\/rightsstatements\.org\/vocab\/InC(-[A-Z-]+)?\/1\.0\/$/.test(uri);
}

function lookupCreator(creator: Creator, authority: RightsAuthority): CreatorCopyright[] {
  const names = [creator.name, ...creator.altNames];
  for (const name of names) {
    const found = authority.creatorsByName.get(nameKey(name));
    if (found) return found;
  }
  for (const name of names) {
    const found = authority.creatorsByTokens.get(tokenKey(name));
    if (found) return found;
  }
  return [];
}

function creatorStatus(creator: Creator, authority: RightsAuthority, currentYear: number): CreatorStatus {
  const entries = lookupCreator(creator, authority);
  if (entries.length === 0) return { status: 'unknown', detail: `${creator.name} is not in Copyrights.csv` };
  const statuses = entries.map((e): CreatorStatus => {
    // The year is what the law counts; legalStatus was computed when the file was exported and goes stale.
    if (e.publicDomainYear !== undefined) {
      return e.publicDomainYear <= currentYear
        ? { status: 'public-domain', detail: `${e.name}: public domain since ${e.publicDomainYear}` }
        : { status: 'in-copyright', detail: `${e.name}: in copyright until ${e.publicDomainYear}` };
    }
    const status = `${e.uri ?? ''} ${e.legalStatus ?? ''}`.toLowerCase();
    if (status.includes('publicdomain') || status.includes('public domain')) return { status: 'public-domain', detail: `${e.name}: "${e.legalStatus ?? e.uri}" (no year)` };
    if (status.includes('/inc/') || status.includes('sabam') || status.includes('auteursrecht')) {
      return { status: 'in-copyright', detail: `${e.name}: "${e.legalStatus ?? e.uri}" (no year)` };
    }
    return { status: 'unknown', detail: `${e.name}: no public-domain year or status` };
  });
  const first = statuses[0]!;
  if (statuses.every((s) => s.status === first.status)) return first;
  return { status: 'unknown', detail: `${creator.name} matches ${entries.length} Copyrights.csv rows that disagree` };
}

/**
 * Decide the IIIF rights URI for a record (see the module comment for the order). `currentYear` is when "now" is,
 * for the public-domain years; pass it in tests.
 */
export function decideRights(record: MappedRecord, authority: RightsAuthority | undefined, currentYear: number = new Date().getUTCFullYear()): RightsDecision {
  const notes: string[] = [];
  const note = (decision: RightsDecision | undefined): RightsDecision | undefined => {
    if (decision?.uri) return decision;
    if (decision) notes.push(decision.reasoning);
    return undefined;
  };
  const publicDomainYear = authority ? publicDomainYearOf(record.creators, authority) : undefined;
  const done = (decision: RightsDecision): RightsDecision => {
    if (publicDomainYear === undefined) return notes.length > 0 ? { ...decision, reasoning: `${decision.reasoning} (${notes.join('; ')})` } : decision;
    // A stale claim ("© SABAM" written while the creator was protected) stays the URI; the year lets the policy open it.
    if (isInCopyrightUri(decision.uri) && publicDomainYear <= currentYear) {
      notes.push(`but Copyrights.csv has every creator public domain since ${publicDomainYear}, so the claim is out of date`);
    }
    return { ...decision, reasoning: notes.length > 0 ? `${decision.reasoning} (${notes.join('; ')})` : decision.reasoning, publicDomainYear };
  };

  const workUri = note(fromStatements(record.rights.statements, 'work'));
  if (workUri) return done(workUri);

  const texts: [string, string | undefined][] = [['credit line', record.rights.creditLine], ...record.rights.statements.map((s): [string, string | undefined] => ['rights type', s.text])];
  for (const [what, text] of texts) {
    const found = rightsFromText(text);
    if (found) return done({ uri: found.uri, source: 'credit-line', reasoning: `${what} "${text}" recognised as ${found.matched}` });
    if (text) notes.push(`${what} "${text}" not recognised`);
  }

  const imageUri = note(fromStatements(record.representations.flatMap((r) => r.rights), 'image'));
  if (imageUri) return done(imageUri);

  if (!authority) return done({ source: 'none', reasoning: 'the record states no usable rights and no authority files were given' });

  const match = authorityRow(record, authority);
  if (match?.row.rights) {
    const found = rightsFromText(match.row.rights);
    if (found) return done({ uri: found.uri, source: 'authority-rights', reasoning: `RIGHTS.csv row for ${match.how}: "${match.row.rights}" recognised as ${found.matched}` });
    notes.push(`RIGHTS.csv row for ${match.how}: "${match.row.rights}" not recognised`);
  } else {
    notes.push(match ? `RIGHTS.csv row for ${match.how} has no rights` : 'no RIGHTS.csv row for this record');
  }

  if (record.creators.length === 0) return done({ source: 'none', reasoning: 'no usable rights and no creators to look up in Copyrights.csv' });
  const statuses = record.creators.map((c) => creatorStatus(c, authority, currentYear));
  const protectedOnes = statuses.filter((s) => s.status === 'in-copyright');
  if (protectedOnes.length > 0) {
    return done({ uri: IN_COPYRIGHT, source: 'authority-rights', reasoning: `Copyrights.csv: ${protectedOnes.map((s) => s.detail).join('; ')}` });
  }
  if (statuses.every((s) => s.status === 'public-domain')) {
    return done({
      uri: PUBLIC_DOMAIN_MARK,
      source: 'authority-public-domain',
      reasoning: `Copyrights.csv: every creator is public domain in ${currentYear} (${statuses.map((s) => s.detail).join('; ')})`,
    });
  }
  return done({
    source: 'none',
    reasoning: `Copyrights.csv cannot decide: ${statuses.filter((s) => s.status === 'unknown').map((s) => s.detail).join('; ')}`,
  });
}

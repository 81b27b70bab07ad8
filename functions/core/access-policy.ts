/**
 * Who may see an image's pixels, and how large: the access policy, decided per image from the ingest item (flags
 * set at upload), the mirrored record's rights decision (functions/core/rights.ts) and institution defaults.
 *
 *   open             every request, full resolution
 *   restricted-size  in copyright: anyone gets the image up to `maxLongSide` pixels on its long side (the
 *                    substitute); an authorised user gets the full image
 *   private          not cleared for public use: no public pixels, no public dimensions; authorised users only
 *
 * Precedence ({@link decideAccess}; the first step that decides wins, `basis` says which):
 *  a. `image-flag`, private first: `cleared-for-public-use: no` makes the image private whatever else is set (nobody
 *     publishes pixels the owner has not cleared; an `access: open` beside it is overruled and the reason says so),
 *     then an explicit `access` flag is taken as it is.
 *  b. `image-flag`: `in-copyright: yes` → restricted-size, `in-copyright: no` → open. The owner's explicit call beats
 *     what is inferred from the record; the reason says when the record says otherwise.
 *  c. `record-rights`, from the record's rights URI (functions/core/rights.ts): public domain and Creative Commons
 *     (CC0, PDM, CC licences, NoC-*) → open; In Copyright (InC, InC-EDU, InC-NC, InC-OW-EU, InC-RUU) → restricted-size
 *     until 1 January of the record's `publicDomainYear` (the day every creator is public domain; `changesOn`), and
 *     from that day open under the Public Domain Mark, even when the record still carries a "© SABAM" that was true
 *     when it was written. CNE, UND, NKC or no URI say nothing about access and fall through.
 *  d. `institution-default`: the institution's policy from the settings; else
 *  e. `default`: the global default policy.
 * A restricted-size image no larger than `maxLongSide` on its long side is open: the restriction would change nothing.
 *
 * Pure: no AWS, no clock of its own (`now` is passed in), so the public-domain day is testable.
 */
import { ConfigError } from './settings.ts';
import { CC0, IN_COPYRIGHT, isInCopyrightUri, PUBLIC_DOMAIN_MARK, type RightsDecision } from './rights.ts';

export type AccessPolicy = 'open' | 'restricted-size' | 'private';

export const ACCESS_POLICIES: readonly AccessPolicy[] = ['open', 'restricted-size', 'private'];

/** What decided the policy, in precedence order (see {@link decideAccess}). */
export type AccessBasis = 'image-flag' | 'record-rights' | 'institution-default' | 'default';

export interface AccessDecision {
  policy: AccessPolicy;
  /** restricted-size only: the longest side, in pixels, of what anyone may see. */
  maxLongSide?: number;
  basis: AccessBasis;
  /** Why, in plain words (English), for operators, the activity page and manifests' requiredStatement. */
  reason: string;
  /** The same, in Dutch, for manifests (their metadata is nl + en). */
  reasonNl: string;
  /** The rights URI in force now (the record's, or the Public Domain Mark once every creator is public domain). */
  rights?: string;
  /**
   * When this decision changes by itself: 1 January (UTC, `YYYY-01-01`) of the year every creator of the work is
   * public domain. The daily access review republishes the image on that day.
   */
  changesOn?: string;
}

/** Per-image flags set by the uploader (S3 user metadata, see {@link accessFlagsFromMetadata}). */
export interface ImageAccessFlags {
  /** `access`: an explicit policy for this image. */
  access?: AccessPolicy;
  /** `cleared-for-public-use`: `no` makes the image private (the predecessor's `clearedforusage`). */
  clearedForPublicUse?: boolean;
  /** `in-copyright`: `yes` restricts the size, `no` opens an image whose record says otherwise (the owner's call). */
  inCopyright?: boolean;
}

export interface AccessSettings {
  /** restricted-size images: the long side anyone may see (default 800). */
  maxLongSide: number;
  /** The policy when neither flags nor the record's rights decide (default `open`, as the predecessor did). */
  defaultPolicy: AccessPolicy;
  /** Per institution key (`mskgent.be`), the policy when neither flags nor rights decide. */
  institutionDefaults: Record<string, AccessPolicy>;
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettings = { maxLongSide: 800, defaultPolicy: 'open', institutionDefaults: {} };

export interface AccessInput {
  flags: ImageAccessFlags;
  /** The mirrored record's rights decision, when the image's record is known. */
  rights?: RightsDecision;
  /** The image's institution key (`mskgent.be`), for institution defaults. */
  institution?: string;
  /** The image's full width and height: a restriction larger than the image itself is no restriction. */
  width?: number;
  height?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Flags (S3 user metadata)

/** `restricted` is what people write; `restricted-size` is the policy's name. */
function policyFrom(value: string): AccessPolicy | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'restricted') return 'restricted-size';
  return ACCESS_POLICIES.find((p) => p === v);
}

/**
 * ResourceSpace checkbox values arrive as `,Yes` (its list separator): the commas around a value are not part of it.
 */
function cleanValue(value: string): string {
  return value.trim().replace(/^[\s,]+|[\s,]+$/g, '');
}

function yesNo(value: string): boolean | undefined {
  const v = cleanValue(value).toLowerCase();
  if (v === 'yes' || v === 'true' || v === '1') return true;
  if (v === 'no' || v === 'false' || v === '0') return false;
  return undefined;
}

/**
 * The image's access flags from its S3 user metadata (keys as S3 gives them, lower case; other case accepted too).
 * Every value that is not understood becomes a problem, in plain words, and no flag: the ingest fails the image
 * rather than guess whether it may be published. Empty values count as not set.
 *
 * The predecessor's ResourceSpace fields are read as it read them: `clearedforusage` clears the image when it
 * contains "Public use" and otherwise (any other non-empty value) does not, exactly the predecessor's rule, which
 * errs on the private side; `incopyright` is a yes/no checkbox. When both spellings are set and disagree, that is a
 * problem too.
 */
export function accessFlagsFromMetadata(metadata: Record<string, string>): { flags: ImageAccessFlags; problems: string[] } {
  const lower = new Map<string, string>();
  for (const [key, value] of Object.entries(metadata)) {
    if (cleanValue(value) !== '') lower.set(key.trim().toLowerCase(), value);
  }
  const flags: ImageAccessFlags = {};
  const problems: string[] = [];

  const access = lower.get('access');
  if (access !== undefined) {
    const policy = policyFrom(cleanValue(access));
    if (policy) flags.access = policy;
    else problems.push(`access "${access}" is not one of open, restricted-size (or restricted), private`);
  }

  const boolean = (key: string, legacyKey: string, legacy: (value: string) => boolean | undefined): boolean | undefined => {
    const raw = lower.get(key);
    const value = raw === undefined ? undefined : yesNo(raw);
    if (raw !== undefined && value === undefined) problems.push(`${key} "${raw}" is not yes or no`);
    const legacyRaw = lower.get(legacyKey);
    const legacyValue = legacyRaw === undefined ? undefined : legacy(legacyRaw);
    if (legacyRaw !== undefined && legacyValue === undefined) problems.push(`${legacyKey} "${legacyRaw}" is not yes or no`);
    if (value !== undefined && legacyValue !== undefined && value !== legacyValue) {
      problems.push(`${key} "${raw}" and ${legacyKey} "${legacyRaw}" disagree`);
      return undefined;
    }
    return value ?? legacyValue;
  };
  const cleared = boolean('cleared-for-public-use', 'clearedforusage', (v) => yesNo(v) ?? /public use/i.test(v));
  if (cleared !== undefined) flags.clearedForPublicUse = cleared;
  const inCopyright = boolean('in-copyright', 'incopyright', yesNo);
  if (inCopyright !== undefined) flags.inCopyright = inCopyright;
  return { flags, problems };
}

// ---------------------------------------------------------------------------------------------------------------
// The decision

const NO_COPYRIGHT = /^http:\/\/rightsstatements\.org\/vocab\/NoC-[A-Z]+\/1\.0\/$/;
const CC_LICENCE = /^http:\/\/creativecommons\.org\/licenses\/([a-z-]+)\/(\d\.\d)\/(?:([a-z]{2})\/)?$/;

/** How a rights URI reads on the page, or `undefined` for one that does not free the work (InC, CNE, UND, NKC). */
function freeLabel(uri: string): { en: string; nl: string } | undefined {
  if (uri === CC0) return { en: 'Public domain (CC0)', nl: 'Publiek domein (CC0)' };
  if (uri === PUBLIC_DOMAIN_MARK) return { en: 'Public domain', nl: 'Publiek domein' };
  if (NO_COPYRIGHT.test(uri)) return { en: 'No copyright', nl: 'Geen auteursrecht' };
  const cc = CC_LICENCE.exec(uri);
  if (cc) {
    const name = `CC ${cc[1]!.toUpperCase()} ${cc[2]!}${cc[3] ? ` ${cc[3].toUpperCase()}` : ''}`;
    return { en: `Creative Commons licence ${name}`, nl: `Creative Commons-licentie ${name}` };
  }
  return undefined;
}

/** What the record's rights say now: free to show, in copyright (until when), or nothing about access. */
type RecordSays =
  | { kind: 'free'; uri: string; en: string; nl: string; since?: number }
  | { kind: 'in-copyright'; uri: string; until?: number; holder: string }
  | { kind: 'silent'; uri?: string };

function readRights(rights: RightsDecision | undefined, year: number): RecordSays {
  const uri = rights?.uri;
  if (!uri) return { kind: 'silent' };
  if (isInCopyrightUri(uri)) {
    const pd = rights.publicDomainYear;
    // The law, not an edit, ends the copyright: from 1 January of that year the work is public domain.
    if (pd !== undefined && pd <= year) return { kind: 'free', uri: PUBLIC_DOMAIN_MARK, en: 'Public domain', nl: 'Publiek domein', since: pd };
    // RightsDecision has no holder field; SABAM (the Belgian collecting society) is the one the sources name.
    const holder = /sabam/i.test(rights.reasoning) ? ' (© SABAM)' : '';
    return { kind: 'in-copyright', uri, holder, ...(pd !== undefined ? { until: pd } : {}) };
  }
  const label = freeLabel(uri);
  if (!label) return { kind: 'silent', uri };
  // The Public Domain Mark from Copyrights.csv: say since when.
  const since = uri === PUBLIC_DOMAIN_MARK && rights.publicDomainYear !== undefined && rights.publicDomainYear <= year ? { since: rights.publicDomainYear } : {};
  return { kind: 'free', uri, ...label, ...since };
}

/** Where the sentence about what is shown starts: restricted reasons are built as head + tail so the moot case reuses the head. */
interface Head {
  en: string;
  nl: string;
}

const SAYS_IN_COPYRIGHT: Head = { en: 'although the record says it is in copyright', nl: 'hoewel het record zegt dat het auteursrechtelijk beschermd is' };
const SAYS_FREE: Head = { en: 'although the record says it is free to use', nl: 'hoewel het record zegt dat het vrij te gebruiken is' };

function withClause(head: Head, clause: Head | undefined): Head {
  return clause ? { en: `${head.en}, ${clause.en}`, nl: `${head.nl}, ${clause.nl}` } : head;
}

/**
 * The access policy for an image (precedence in the module comment). `now` decides whether a work has entered the
 * public domain (its UTC year against the record's `publicDomainYear`).
 */
export function decideAccess(input: AccessInput, settings: AccessSettings, now: Date): AccessDecision {
  const year = now.getUTCFullYear();
  const { flags } = input;
  const says = readRights(input.rights, year);
  const rightsInForce = says.uri !== undefined ? { rights: says.uri } : {};
  const limit = settings.maxLongSide;
  const longSide = input.width !== undefined && input.height !== undefined ? Math.max(input.width, input.height) : undefined;

  const open = (basis: AccessBasis, head: Head, extra: Partial<AccessDecision> = {}): AccessDecision => ({
    policy: 'open',
    basis,
    reason: `${head.en}: shown in full.`,
    reasonNl: `${head.nl}: volledig getoond.`,
    ...extra,
  });
  const restricted = (basis: AccessBasis, head: Head, extra: Partial<AccessDecision> = {}): AccessDecision => {
    if (longSide !== undefined && longSide <= limit) {
      // The substitute would be the image itself: publishing it in full gives away nothing the restriction keeps.
      return {
        policy: 'open',
        basis,
        reason: `${head.en}, but this image is already no larger than ${limit} pixels: shown in full.`,
        reasonNl: `${head.nl}, maar deze afbeelding is al niet groter dan ${limit} pixels: volledig getoond.`,
        ...extra,
      };
    }
    return {
      policy: 'restricted-size',
      maxLongSide: limit,
      basis,
      reason: `${head.en}: shown up to ${limit} pixels.`,
      reasonNl: `${head.nl}: getoond tot ${limit} pixels.`,
      ...extra,
    };
  };
  const privately = (basis: AccessBasis, en: string, nl: string): AccessDecision => ({ policy: 'private', basis, reason: en, reasonNl: nl, ...rightsInForce });

  // a. Private wins over everything; then an explicit access flag.
  if (flags.clearedForPublicUse === false) {
    return flags.access && flags.access !== 'private'
      ? privately('image-flag', `Not cleared for public use, although its access is set to ${flags.access}.`, `Niet vrijgegeven voor publiek gebruik, hoewel de toegang op ${flags.access} staat.`)
      : privately('image-flag', 'Not cleared for public use.', 'Niet vrijgegeven voor publiek gebruik.');
  }
  if (flags.access === 'private') return privately('image-flag', 'Kept private by the owner.', 'Door de eigenaar privé gehouden.');
  if (flags.access === 'open') {
    return open('image-flag', withClause({ en: "Open at the owner's request", nl: 'Open op vraag van de eigenaar' }, says.kind === 'in-copyright' ? SAYS_IN_COPYRIGHT : undefined), rightsInForce);
  }
  if (flags.access === 'restricted-size') {
    return restricted('image-flag', withClause({ en: "Limited at the owner's request", nl: 'Beperkt op vraag van de eigenaar' }, says.kind === 'free' ? SAYS_FREE : undefined), rightsInForce);
  }

  // b. The owner's word on copyright beats the record's. The flag stays in force until someone changes it: no changesOn.
  if (flags.inCopyright === true) {
    const head = withClause({ en: 'In copyright according to the owner', nl: 'Volgens de eigenaar auteursrechtelijk beschermd' }, says.kind === 'free' ? SAYS_FREE : undefined);
    return restricted('image-flag', head, { rights: says.kind === 'in-copyright' ? says.uri : IN_COPYRIGHT });
  }
  if (flags.inCopyright === false) {
    const head = withClause({ en: 'Free of copyright according to the owner', nl: 'Volgens de eigenaar vrij van auteursrecht' }, says.kind === 'in-copyright' ? SAYS_IN_COPYRIGHT : undefined);
    // The owner denies copyright without naming a licence: keep the record's URI only when it agrees.
    return open('image-flag', head, says.kind === 'free' ? { rights: says.uri } : {});
  }

  // c. The record's rights.
  if (says.kind === 'free') {
    const head: Head =
      says.since !== undefined
        ? { en: `Public domain since 1 January ${says.since}`, nl: `Publiek domein sinds 1 januari ${says.since}` }
        : { en: says.en, nl: says.nl };
    return open('record-rights', head, { rights: says.uri });
  }
  if (says.kind === 'in-copyright') {
    if (says.until === undefined) {
      return restricted('record-rights', { en: `In copyright${says.holder}`, nl: `Auteursrechtelijk beschermd${says.holder}` }, { rights: says.uri });
    }
    const last = says.until - 1;
    return restricted(
      'record-rights',
      { en: `In copyright${says.holder} until 31 December ${last}`, nl: `Auteursrechtelijk beschermd${says.holder} tot en met 31 december ${last}` },
      { rights: says.uri, changesOn: `${String(says.until).padStart(4, '0')}-01-01` },
    );
  }

  // d., e. Defaults.
  const institutionPolicy = input.institution !== undefined ? settings.institutionDefaults[input.institution.trim().toLowerCase()] : undefined;
  const basis: AccessBasis = institutionPolicy !== undefined ? 'institution-default' : 'default';
  const policy = institutionPolicy ?? settings.defaultPolicy;
  if (policy === 'private') return privately(basis, 'Not cleared for public use.', 'Niet vrijgegeven voor publiek gebruik.');
  if (policy === 'restricted-size') return restricted(basis, { en: 'Rights not cleared yet', nl: 'Rechten nog niet uitgeklaard' }, rightsInForce);
  return open(basis, { en: 'No rights restriction is recorded', nl: 'Er is geen beperking van rechten geregistreerd' }, rightsInForce);
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

type Env = Record<string, string | undefined>;

/**
 * IMAGEHUB_ACCESS_MAX_LONG_SIDE (integer 16..100000, default 800), IMAGEHUB_ACCESS_DEFAULT (a policy, default open),
 * IMAGEHUB_ACCESS_INSTITUTIONS (`mskgent.be=restricted-size,kmska.be=open`; keys compared in lower case). Throws a
 * {@link ConfigError} naming every problem at once.
 */
export function parseAccessSettings(env: Env): AccessSettings {
  const problems: string[] = [];
  const settings: AccessSettings = { ...DEFAULT_ACCESS_SETTINGS, institutionDefaults: {} };

  const rawLimit = env.IMAGEHUB_ACCESS_MAX_LONG_SIDE?.trim();
  if (rawLimit) {
    const value = /^\d[\d_]*$/.test(rawLimit) ? Number(rawLimit.replace(/_/g, '')) : NaN;
    if (!Number.isInteger(value) || value < 16 || value > 100_000) problems.push(`IMAGEHUB_ACCESS_MAX_LONG_SIDE must be an integer between 16 and 100000, got "${rawLimit}"`);
    else settings.maxLongSide = value;
  }

  const rawDefault = env.IMAGEHUB_ACCESS_DEFAULT?.trim();
  if (rawDefault) {
    const policy = policyFrom(rawDefault);
    if (policy) settings.defaultPolicy = policy;
    else problems.push(`IMAGEHUB_ACCESS_DEFAULT must be open, restricted-size or private, got "${rawDefault}"`);
  }

  const rawInstitutions = env.IMAGEHUB_ACCESS_INSTITUTIONS?.trim();
  if (rawInstitutions) {
    for (const entry of rawInstitutions.split(',').map((e) => e.trim())) {
      if (!entry) continue;
      const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(entry);
      const policy = match ? policyFrom(match[2]!) : undefined;
      if (!match || !policy) {
        problems.push(`IMAGEHUB_ACCESS_INSTITUTIONS entry "${entry}" must be institution=open|restricted-size|private`);
        continue;
      }
      const key = match[1]!.toLowerCase();
      const earlier = settings.institutionDefaults[key];
      if (earlier !== undefined && earlier !== policy) problems.push(`IMAGEHUB_ACCESS_INSTITUTIONS gives ${key} both ${earlier} and ${policy}`);
      else settings.institutionDefaults[key] = policy;
    }
  }

  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return settings;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing decisions, checking requests

/** True when both decisions publish the same files: same policy and, if restricted, same limit. Absent = open. */
export function sameAccess(a?: AccessDecision, b?: AccessDecision): boolean {
  const policyA = a?.policy ?? 'open';
  const policyB = b?.policy ?? 'open';
  if (policyA !== policyB) return false;
  return policyA !== 'restricted-size' || a?.maxLongSide === b?.maxLongSide;
}

/**
 * IIIF Presentation 3.0 manifests and collections for the objects of the data-hub mirror. Pure: the caller looks up
 * the record, its rights decision, its ready images (in canvas order) and the related works that have manifests
 * here, and serves what comes out. The 2.1 documents (presentation-v2.ts) are built from the same input and reuse the
 * URL layout, labels and metadata defined here.
 *
 * Decisions, and why:
 *  - Object ids are `{institutionKey}:{cleaned object number}` ({@link objectIdFor}), the same shape the ingest gives
 *    image identifiers (`mskgent.be/1829-A.tif` → `mskgent.be:1829-A`), so an object's manifest URL can be derived
 *    from what a museum uploads. Records without an institution or object number get no manifest.
 *  - Canvas, annotation page and annotation ids are keyed by the image identifier, not by position: adding or
 *    reordering images keeps every existing canvas id (and annotations made on it elsewhere) valid.
 *  - Image service ids name the immutable revision (`{identifier}~{revision}`): Mirador treats an info.json whose
 *    `id` differs from the manifest's service id as another service, and a revision id can be cached forever.
 *  - Every piece of descriptive metadata sits on the Manifest, none on the Canvases (the predecessor put it on
 *    canvases, where viewers show it only for one view). Values are plain text: no HTML anywhere, so no client has
 *    to sanitise anything and `requiredStatement` reads the same in every viewer.
 *  - `rights` is only what the rights decision found, never a made-up default. Creative Commons URIs are given over
 *    http: IIIF settled on http as the canonical form (IIIF/api#1874) and the official validator's schema accepts
 *    nothing else; rights.ts and info.json use the same form.
 *  - Canvas labels are the position (`1`, `2`, …): the images of one museum object are views of it (front, back,
 *    details) with no names of their own in the data, and viewers show the label under each thumbnail.
 *  - `behavior: ["individuals"]` only on objects with several images: they are separate views, not the pages of a
 *    book, so viewers must not offer a two-page spread (the predecessor's choice too). A single canvas needs none.
 *  - Related works (polyptych panels and their whole) are linked, never copied: each has its own manifest whose
 *    canvases would otherwise go stale here. A Manifest's `items` can only hold Canvases, and Presentation 3 has no
 *    "has part" link between Manifests, so:
 *      `isPartOf` → a `partOf` entry `{ id: whole's manifest, type: "Manifest" }` after the institution collection.
 *        The spec defines `partOf` as a containing resource of any type (its own example is a Canvas pointing at a
 *        Manifest); the schema admits it and viewers that only follow Collections in `partOf` ignore it.
 *      every relation (`hasPart`, `isPartOf`, `relatedTo`, others) → one "Related work"/"Verwant werk" metadata
 *        entry listing `{relation}: {title}` per related work, so people see them, in `sortOrder` then input order.
 *  - Collections never embed manifests, only reference them. An institution with more than
 *    {@link COLLECTION_PAGE_SIZE} manifests is listed as page sub-collections, named after their first object id.
 *    An empty collection (no institutions, no manifests yet) is still served with `items: []`: Presentation 3 asks
 *    at least one item of a Manifest, not of a Collection, and the schema agrees.
 *  - Language tags become keys the validator's schema accepts (letters and hyphens): `nl_BE` → `nl-BE`, `es-419` →
 *    `es`, anything unusable → `none`.
 */
import { revisionIdentifier } from './identifier.ts';
import type { ImageItem, PublishedPyramid } from './image-item.ts';
import { DYNAMIC_SERVICE, IMAGE2_LEVEL0, IMAGE2_LEVEL2, IMAGE3_LEVEL0, IMAGE3_LEVEL2, imageServiceId, type ServiceCapabilities } from './info-json.ts';
import type { Size } from './pyramid.ts';
import { cleanObjectNumber, type Concept, type Creator, type Dimension, type LanguageMap, type MappedRecord, type ProductionDates } from './record.ts';
import { recordKeys } from './record-keys.ts';
import { canonicalRightsUri, type RightsDecision } from './rights.ts';
import { AUTH2_CONTEXT, probeServiceFor, type AuthProbeService2 } from './auth.ts';
import type { AccessDecision } from './access-policy.ts';

export type { LanguageMap } from './record.ts';

export const PRESENTATION3_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';
/** Manifests per institution collection page: small enough to load fast, large enough for few pages. */
export const COLLECTION_PAGE_SIZE = 500;
export const MAX_OBJECT_ID_LENGTH = 300;
/** A thumbnail's long side is at least this (when the image has such a size): sharp in a viewer's strip. */
export const THUMBNAIL_MIN_LONG_SIDE = 400;
export const LIDO_PROFILE = 'http://www.lido-schema.org';
/** Downstream tools find the LIDO record by this exact English label (the predecessor's, kept on purpose). */
export const SEE_ALSO_LABEL: LanguageMap = { en: ['Object Description in XML'], nl: ['Objectbeschrijving in XML'] };
export const ATTRIBUTION_LABEL: LanguageMap = { en: ['Attribution'], nl: ['Naamsvermelding'] };

// ---------------------------------------------------------------------------------------------------------------
// Object ids

export interface ObjectIdParts {
  institution: string;
  objectNumber: string;
}

/**
 * `{institutionKey}:{cleanObjectNumber(objectNumber)}` (`mskgent.be:1829-A`, `groeningemuseum.be:0000_GRO0208_I`),
 * the institution as {@link recordKeys} finds it (work PID host, else data PID host, else the record id). Undefined
 * when the record lacks either part, or the result could not be parsed back ({@link parseObjectId}): such records
 * get no manifest, because nothing could address it stably.
 */
export function objectIdFor(record: Pick<MappedRecord, 'recordId' | 'dataPid' | 'workPid' | 'objectNumber'>): string | undefined {
  const institution = recordKeys(record).institutionKey;
  const objectNumber = record.objectNumber ? cleanObjectNumber(record.objectNumber) : '';
  if (!institution || !objectNumber || institution.includes(':')) return undefined;
  const id = `${institution}:${objectNumber}`;
  return parseObjectId(id) ? id : undefined;
}

/**
 * The parts of an object id, split on the first `:`; undefined for anything {@link objectIdFor} cannot produce, and
 * for control characters and lone surrogates (which no URL can carry).
 */
export function parseObjectId(value: string): ObjectIdParts | undefined {
  if (value.length === 0 || value.length > MAX_OBJECT_ID_LENGTH || value.includes('/') || /[\p{Cc}\p{Cs}]/u.test(value)) return undefined;
  const at = value.indexOf(':');
  if (at <= 0 || at === value.length - 1) return undefined;
  return { institution: value.slice(0, at), objectNumber: value.slice(at + 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// URL layout

export type PresentationVersion = 2 | 3;

/** One path segment, percent-encoded, with `:` kept readable (it is allowed in a segment) and no dot segments. */
export function encodePathSegment(value: string): string {
  if (value === '.' || value === '..') return value.replace(/\./g, '%2E');
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

export function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

export function presentationRoot(baseUrl: string, version: PresentationVersion): string {
  return `${trimBase(baseUrl)}/iiif/presentation/${version}`;
}

export function manifestUrl(baseUrl: string, version: PresentationVersion, objectId: string): string {
  return `${presentationRoot(baseUrl, version)}/${encodePathSegment(objectId)}/manifest.json`;
}

export function canvasUrl(baseUrl: string, version: PresentationVersion, objectId: string, imageIdentifier: string): string {
  return `${presentationRoot(baseUrl, version)}/${encodePathSegment(objectId)}/canvas/${encodePathSegment(imageIdentifier)}`;
}

export function annotationPageUrl(baseUrl: string, objectId: string, imageIdentifier: string): string {
  return `${canvasUrl(baseUrl, 3, objectId, imageIdentifier)}/page`;
}

export function paintingAnnotationUrl(baseUrl: string, objectId: string, imageIdentifier: string): string {
  return `${annotationPageUrl(baseUrl, objectId, imageIdentifier)}/image`;
}

export function sequenceUrlV2(baseUrl: string, objectId: string): string {
  return `${presentationRoot(baseUrl, 2)}/${encodePathSegment(objectId)}/sequence/normal`;
}

export function imageAnnotationUrlV2(baseUrl: string, objectId: string, imageIdentifier: string): string {
  return `${canvasUrl(baseUrl, 2, objectId, imageIdentifier)}/image`;
}

export function topCollectionUrl(baseUrl: string, version: PresentationVersion): string {
  return `${presentationRoot(baseUrl, version)}/collection/top.json`;
}

export function institutionCollectionUrl(baseUrl: string, version: PresentationVersion, institutionKey: string): string {
  return `${presentationRoot(baseUrl, version)}/collection/${encodePathSegment(institutionKey)}.json`;
}

export function collectionPageUrl(baseUrl: string, version: PresentationVersion, institutionKey: string, firstObjectId: string): string {
  return `${presentationRoot(baseUrl, version)}/collection/${encodePathSegment(institutionKey)}/${encodePathSegment(firstObjectId)}.json`;
}

/** The image service of one published revision; the info.json at that id states the same id. */
export function imageService3Url(baseUrl: string, identifier: string, revision: string): string {
  return imageServiceId(trimBase(baseUrl), 3, revisionIdentifier(identifier, revision));
}

export function imageService2Url(baseUrl: string, identifier: string, revision: string): string {
  return imageServiceId(trimBase(baseUrl), 2, revisionIdentifier(identifier, revision));
}

// ---------------------------------------------------------------------------------------------------------------
// Document types

export interface MetadataEntry {
  label: LanguageMap;
  value: LanguageMap;
}

export interface ImageService3Ref {
  id: string;
  type: 'ImageService3';
  profile: string;
  sizes?: Size[];
  /** An access-controlled image's Auth 2.0 probe service (also in its info.json, Auth 2.0 §2.1). */
  service?: AuthProbeService2[];
}

/** Presentation 3 admits older services in their own vocabulary (`@id`/`@type`), for 2.1-only viewers. */
export interface ImageService2Ref {
  '@id': string;
  '@type': 'ImageService2';
  profile: string;
  sizes?: Size[];
  service?: AuthProbeService2[];
}

export interface ImageResource {
  id: string;
  type: 'Image';
  format: 'image/jpeg';
  width: number;
  height: number;
  service: (ImageService3Ref | ImageService2Ref)[];
}

export interface PaintingAnnotation {
  id: string;
  type: 'Annotation';
  motivation: 'painting';
  target: string;
  body: ImageResource;
}

export interface AnnotationPage {
  id: string;
  type: 'AnnotationPage';
  items: PaintingAnnotation[];
}

export interface Canvas {
  id: string;
  type: 'Canvas';
  label: LanguageMap;
  width: number;
  height: number;
  thumbnail: ImageResource[];
  items: AnnotationPage[];
}

export interface ExternalResource {
  id: string;
  type: 'Text' | 'Dataset';
  label: LanguageMap;
  format: string;
  profile?: string;
}

export interface Agent {
  id: string;
  type: 'Agent';
  label: LanguageMap;
  homepage?: ExternalResource[];
}

export interface ResourceRef {
  id: string;
  type: 'Collection' | 'Manifest';
  label: LanguageMap;
  summary?: LanguageMap;
  thumbnail?: ImageResource[];
}

export interface Manifest {
  /** With Auth 2.0 services in it, the auth context first (Auth 2.0 §2.1). */
  '@context': typeof PRESENTATION3_CONTEXT | [typeof AUTH2_CONTEXT, typeof PRESENTATION3_CONTEXT];
  id: string;
  type: 'Manifest';
  label: LanguageMap;
  summary?: LanguageMap;
  metadata: MetadataEntry[];
  requiredStatement?: MetadataEntry;
  rights?: string;
  provider?: Agent[];
  homepage?: ExternalResource[];
  seeAlso?: ExternalResource[];
  thumbnail: ImageResource[];
  navDate?: string;
  behavior?: 'individuals'[];
  partOf: ResourceRef[];
  items: Canvas[];
}

export interface Collection {
  '@context': typeof PRESENTATION3_CONTEXT;
  id: string;
  type: 'Collection';
  label: LanguageMap;
  summary?: LanguageMap;
  partOf?: ResourceRef[];
  items: ResourceRef[];
}

// ---------------------------------------------------------------------------------------------------------------
// Input

/** A related work that has a manifest here, resolved by the caller from `record.relatedWorks`. */
export interface RelatedManifest {
  /** `hasPart`, `isPartOf`, `relatedTo`, or the record's own term. */
  relation: string;
  objectId: string;
  label?: LanguageMap;
  sortOrder?: number;
}

export interface ManifestInput {
  /** The public CDN URL, without trailing slash (one is tolerated). */
  baseUrl: string;
  objectId: string;
  record: MappedRecord;
  rights?: RightsDecision;
  /** Ready images with `published`, in canvas order. At least one. */
  images: ImageItem[];
  /** The OAI-PMH GetRecord URL of the LIDO record, when it came from OAI-PMH. */
  seeAlso?: { getRecordUrl: string };
  related?: RelatedManifest[];
  /** Last change of record or images: for the handler's Last-Modified; Presentation 3 has no property for it. */
  modified?: string;
  /** What the image services answer (the profile stated for them); the dynamic level-2 service by default. */
  capabilities?: ServiceCapabilities;
}

/** What a thumbnail needs of an image: its identifier and the published revision's stored sizes. */
export interface ThumbnailSource {
  identifier: string;
  published: Pick<PublishedPyramid, 'revision' | 'sizes' | 'maxSize' | 'substitute' | 'access'>;
}

// ---------------------------------------------------------------------------------------------------------------
// Language maps

/** A language tag as a key the validator's schema accepts: letters and hyphens, else its leading alphabetic subtags. */
export function languageKey(tag: string): string {
  const subtags = tag.trim().replace(/_/g, '-').split('-');
  const kept: string[] = [];
  for (const s of subtags) {
    if (!/^[A-Za-z]+$/.test(s)) break;
    kept.push(s);
  }
  return kept.length > 0 ? kept.join('-') : 'none';
}

/** A clean language map: valid keys, trimmed non-empty values, no duplicates, no empty languages. */
export function languageMap(...maps: (LanguageMap | undefined)[]): LanguageMap {
  const out: LanguageMap = {};
  for (const map of maps) {
    for (const [tag, values] of Object.entries(map ?? {})) {
      const key = languageKey(tag);
      for (const raw of values) {
        const value = raw.trim();
        if (!value) continue;
        const list = (out[key] ??= []);
        if (!list.includes(value)) list.push(value);
      }
    }
  }
  return out;
}

function noneMap(...values: (string | undefined)[]): LanguageMap {
  return languageMap({ none: values.filter((v): v is string => v !== undefined) });
}

export function isEmptyMap(map: LanguageMap): boolean {
  return Object.keys(map).length === 0;
}

/** The first value of each language: a label names a thing once per language. */
function firstPerLanguage(map: LanguageMap): LanguageMap {
  return Object.fromEntries(Object.entries(languageMap(map)).map(([k, v]) => [k, v.slice(0, 1)]));
}

/** One string from a map, in order of preference, else any. */
export function pickValue(map: LanguageMap, preferred: readonly string[] = ['nl', 'none', 'en']): string | undefined {
  const clean = languageMap(map);
  for (const lang of preferred) {
    const v = clean[lang]?.[0];
    if (v) return v;
  }
  return Object.values(clean)[0]?.[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Descriptive parts

/** The record's titles (first per language), else the object number: a manifest always has a label. */
export function manifestLabel(record: MappedRecord, objectId: string): LanguageMap {
  const titles = firstPerLanguage(record.titles);
  if (!isEmptyMap(titles)) return titles;
  return noneMap(record.objectNumber ?? parseObjectId(objectId)?.objectNumber ?? objectId);
}

function year(date: string | undefined): string | undefined {
  const m = date ? /^(-?)0*(\d{1,4})(?!\d)/.exec(date.trim()) : null;
  return m ? `${m[1]}${m[2]}` : undefined;
}

/** "toegeschreven aan Navez, François-Joseph, schilder (1787–1869)": qualifier, name, role, life years. */
export function creatorText(creator: Creator): string {
  const birth = year(creator.birth);
  const death = year(creator.death);
  const life = birth || death ? ` (${birth ?? ''}–${death ?? ''})` : '';
  const qualifier = creator.attributionQualifier ? `${creator.attributionQualifier} ` : '';
  const role = creator.role ? `, ${creator.role}` : '';
  return `${qualifier}${creator.name}${role}${life}`;
}

/** The display date, else `earliest–latest` (one year when they agree). */
export function dateText(dates: ProductionDates): string | undefined {
  if (dates.display) return dates.display;
  if (dates.earliest && dates.latest && dates.earliest !== dates.latest) return `${dates.earliest}–${dates.latest}`;
  return dates.earliest ?? dates.latest;
}

function numberText(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** "hoogte 52.5 cm (geheel)": decimal points, whatever the record wrote. */
export function dimensionText(d: Dimension): string {
  const parts = [d.type, numberText(d.value), d.unit].filter((p) => p !== undefined && p !== '');
  return `${parts.join(' ')}${d.extent ? ` (${d.extent})` : ''}`;
}

function conceptLabels(concepts: Concept[]): LanguageMap {
  return languageMap(...concepts.map((c) => c.label));
}

const RELATION_WORDS: Record<string, { en: string; nl: string }> = {
  hasPart: { en: 'has part', nl: 'heeft als deel' },
  isPartOf: { en: 'is part of', nl: 'is deel van' },
  relatedTo: { en: 'related to', nl: 'verwant aan' },
};

/** Related manifests worth showing: valid, not this object, each relation to each work once, by sort order. */
export function relatedManifests(related: RelatedManifest[] | undefined, objectId: string): RelatedManifest[] {
  const seen = new Set<string>();
  const kept = (related ?? []).filter((r) => {
    const key = `${r.relation}\n${r.objectId}`;
    if (r.objectId === objectId || !parseObjectId(r.objectId) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return kept
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.sortOrder ?? Infinity) - (b.r.sortOrder ?? Infinity) || a.i - b.i)
    .map(({ r }) => r);
}

function relatedTitle(r: RelatedManifest, lang: 'en' | 'nl'): string {
  const label = languageMap(r.label);
  return label[lang]?.[0] ?? pickValue(label) ?? parseObjectId(r.objectId)!.objectNumber;
}

/** `is part of: Orsini Polyptiek` per language, for the "Related work" metadata entry. */
export function relatedWorkValue(related: RelatedManifest[]): LanguageMap {
  const out: LanguageMap = { en: [], nl: [] };
  for (const r of related) {
    const words = RELATION_WORDS[r.relation] ?? { en: r.relation, nl: r.relation };
    out.en!.push(`${words.en}: ${relatedTitle(r, 'en')}`);
    out.nl!.push(`${words.nl}: ${relatedTitle(r, 'nl')}`);
  }
  return languageMap(out);
}

function entry(en: string, nl: string, value: LanguageMap): MetadataEntry[] {
  return isEmptyMap(value) ? [] : [{ label: { en: [en], nl: [nl] }, value }];
}

/**
 * The manifest's metadata, in the order a museum label reads: what it is, who made it when, what it is made of, what
 * it shows, where it is. Values keep the record's languages; text without one is `none`.
 */
export function buildMetadata(record: MappedRecord, related: RelatedManifest[] = []): MetadataEntry[] {
  const materials = record.materialsDisplay.length > 0 ? noneMap(...record.materialsDisplay) : conceptLabels([...record.materials, ...record.techniques]);
  const dimensions = record.dimensionsDisplay.length > 0 ? noneMap(...record.dimensionsDisplay) : noneMap(...record.dimensions.map(dimensionText));
  const subjects = languageMap(conceptLabels(record.subjects), noneMap(...record.subjects.map((s) => s.iconclass)));
  const institution = record.institution ? labelOr(record.institution.label, record.institution.name) : {};
  return [
    ...entry('Title', 'Titel', languageMap(record.titles, noneMap(...record.alternativeTitles))),
    ...entry('Creator', 'Vervaardiger', noneMap(...record.creators.map(creatorText))),
    ...entry('Date', 'Datering', noneMap(dateText(record.dates))),
    ...entry('Period', 'Periode', languageMap(record.period)),
    ...entry('Object number', 'Objectnummer', noneMap(record.objectNumber)),
    ...entry('Object type', 'Objecttype', conceptLabels([...record.objectTypes, ...record.categories])),
    ...entry('Materials', 'Materialen', materials),
    ...entry('Dimensions', 'Afmetingen', dimensions),
    ...entry('Subject', 'Onderwerp', subjects),
    ...entry('Institution', 'Instelling', institution),
    ...entry('Credit line', 'Creditline', noneMap(record.rights.creditLine)),
    ...entry('Related work', 'Verwant werk', relatedWorkValue(related)),
  ];
}

/**
 * Credit line and institution name, plain text (the predecessor's HTML is what viewers then had to sanitise), and
 * why images are limited when they are (the access decisions' reasons, in English and Dutch).
 */
export function requiredStatementFor(record: MappedRecord, access: AccessDecision[] = []): MetadataEntry | undefined {
  const parts: string[] = [];
  for (const part of [record.rights.creditLine, record.institution?.name]) {
    if (part && !parts.some((p) => p.toLowerCase() === part.toLowerCase())) parts.push(part);
  }
  const limited = access.filter((a) => a.policy !== 'open');
  const reasons = (pick: (a: AccessDecision) => string) => [...new Set(limited.map(pick))];
  if (limited.length > 0) {
    const attribution = parts.join(' — ');
    const join = (texts: string[]) => [attribution, ...texts].filter((t) => t !== '').join(' ');
    return { label: ATTRIBUTION_LABEL, value: { en: [join(reasons((a) => a.reason))], nl: [join(reasons((a) => a.reasonNl))] } };
  }
  return parts.length > 0 ? { label: ATTRIBUTION_LABEL, value: { none: [parts.join(' — ')] } } : undefined;
}

/** The access decisions of a manifest's images (private ones never reach a manifest). */
export function accessOf(images: ImageItem[]): AccessDecision[] {
  return images.map((image) => image.published?.access).filter((a): a is AccessDecision => a !== undefined);
}

/**
 * The rights in force: the record's decision, unless the images' access decisions agree on another URI (a work
 * whose every creator has entered the public domain since the record was harvested carries the Public Domain Mark).
 */
export function rightsInForce(rights: RightsDecision | undefined, images: ImageItem[]): string | undefined {
  const fromAccess = [...new Set(accessOf(images).map((a) => a.rights).filter((r): r is string => r !== undefined))];
  return presentationRights(fromAccess.length === 1 && accessOf(images).length === images.length ? fromAccess[0] : rights?.uri);
}

/**
 * The `rights` value: the decision's URI in the form the Presentation 3 validator accepts (RightsStatements.org and
 * Creative Commons over http), or nothing. Anything not recognisably one of the two is dropped, never replaced.
 */
export function presentationRights(uri: string | undefined): string | undefined {
  return canonicalRightsUri(uri);
}

/** A URL as a JSON-LD id: http(s) only, percent-encoded where the record wrote spaces or non-ASCII. */
export function httpUri(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed || !/^https?:\/\//i.test(trimmed)) return undefined;
  if (/^[\x21-\x7e]+$/.test(trimmed) && !/["<>\\^`{|}]/.test(trimmed)) return trimmed;
  try {
    const url = new URL(trimmed);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `navDate` from the earliest date (else the latest), midnight UTC. Only years 0001–9999 with a real month and day:
 * anything else (BCE, "0", "15de eeuw") is no date to navigate by.
 */
export function navDateFor(dates: ProductionDates): string | undefined {
  for (const raw of [dates.earliest, dates.latest]) {
    const m = raw ? /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(raw.trim()) : null;
    if (!m) continue;
    const [y, mo, d] = [Number(m[1]), Number(m[2] ?? '1'), Number(m[3] ?? '1')];
    if (y < 1 || mo < 1 || mo > 12 || d < 1) continue;
    const date = new Date(Date.UTC(2000, mo - 1, d));
    date.setUTCFullYear(y);
    if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) continue;
    return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00Z`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Images

function profile3(c: ServiceCapabilities): string {
  return c.level === 2 ? IMAGE3_LEVEL2 : IMAGE3_LEVEL0;
}

export function profile2(c: ServiceCapabilities): string {
  return c.level === 2 ? IMAGE2_LEVEL2 : IMAGE2_LEVEL0;
}

function sizesOf(sizes: Size[]): Size[] {
  return sizes.map(({ width, height }) => ({ width, height }));
}

/** A ready image's published pyramid; a clear error for any other (the caller passes ready images only). */
export function publishedOf(image: ImageItem): PublishedPyramid {
  if (!image.published) throw new Error(`image ${image.identifier} has no published pyramid (status ${image.status}): only ready images become canvases`);
  return image.published;
}

/**
 * The thumbnail size: the smallest stored size whose long side is at least {@link THUMBNAIL_MIN_LONG_SIDE}, else
 * the largest stored one (small images), else `max` when nothing is stored under `sizes`.
 */
export function thumbnailSize(published: Pick<PublishedPyramid, 'sizes' | 'maxSize'>): { size: Size; stored: boolean } {
  const bySize = [...published.sizes].sort((a, b) => a.width * a.height - b.width * b.height);
  const big = bySize.find((s) => Math.max(s.width, s.height) >= THUMBNAIL_MIN_LONG_SIDE);
  const size = big ?? bySize[bySize.length - 1];
  return size ? { size, stored: true } : { size: published.maxSize, stored: false };
}

/**
 * A stored whole-image size (static file, no rendering) with the service, so viewers can ask for others. A
 * restricted-size image's thumbnail comes from its substitute, the size-limited version anyone may see.
 */
export function thumbnailFor(baseUrl: string, image: ThumbnailSource, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): ImageResource {
  const { service, published } = thumbnailServiceOf(baseUrl, image);
  const { size, stored } = thumbnailSize(published);
  return {
    id: `${service}/full/${stored ? `${size.width},${size.height}` : 'max'}/0/default.jpg`,
    type: 'Image',
    format: 'image/jpeg',
    width: size.width,
    height: size.height,
    service: [{ id: service, type: 'ImageService3', profile: profile3(capabilities) }],
  };
}

/** The service and sizes a thumbnail is taken from: the image's own, or its substitute's when it is restricted. */
export function thumbnailServiceOf(baseUrl: string, image: ThumbnailSource): { service: string; published: Pick<PublishedPyramid, 'sizes' | 'maxSize'>; version2: string } {
  const sub = image.published.substitute;
  if (sub && image.published.access?.policy === 'restricted-size') {
    return {
      service: `${trimBase(baseUrl)}/iiif/3/${sub.identifier}`,
      version2: `${trimBase(baseUrl)}/iiif/2/${sub.identifier}`,
      published: { sizes: sub.sizes, maxSize: { width: sub.width, height: sub.height } },
    };
  }
  return {
    service: imageService3Url(baseUrl, image.identifier, image.published.revision),
    version2: imageService2Url(baseUrl, image.identifier, image.published.revision),
    published: image.published,
  };
}

/** The Auth 2.0 probe service of an image that is not open, else nothing. */
export function authServicesOf(baseUrl: string, identifier: string, access: AccessDecision | undefined): AuthProbeService2[] | undefined {
  return access && access.policy !== 'open' ? [probeServiceFor(trimBase(baseUrl), identifier)] : undefined;
}

/**
 * The painting body: `full/max` at the size `max` really is (within the size limits), with the 3.0 service and the
 * 2.1 service of the same revision, both listing the stored sizes. An access-controlled image is the resource most
 * users would prefer to see (Auth 2.0 §5.2): its services carry the probe, whose substitute is the size-limited
 * version for those not logged in.
 */
export function imageBody(baseUrl: string, identifier: string, published: PublishedPyramid, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): ImageResource {
  const service3 = imageService3Url(baseUrl, identifier, published.revision);
  const service2 = imageService2Url(baseUrl, identifier, published.revision);
  const auth = authServicesOf(baseUrl, identifier, published.access);
  return {
    id: `${service3}/full/max/0/default.jpg`,
    type: 'Image',
    format: 'image/jpeg',
    width: published.maxSize.width,
    height: published.maxSize.height,
    service: [
      { id: service3, type: 'ImageService3', profile: profile3(capabilities), sizes: sizesOf(published.sizes), ...(auth ? { service: auth } : {}) },
      { '@id': service2, '@type': 'ImageService2', profile: profile2(capabilities), sizes: sizesOf(published.sizes), ...(auth ? { service: auth } : {}) },
    ],
  };
}

/** One canvas at the image's real dimensions, painted by one image annotation. */
export function buildCanvas(baseUrl: string, objectId: string, image: ImageItem, position: number, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): Canvas {
  const published = publishedOf(image);
  const id = canvasUrl(baseUrl, 3, objectId, image.identifier);
  return {
    id,
    type: 'Canvas',
    label: { none: [String(position)] },
    width: published.width,
    height: published.height,
    thumbnail: [thumbnailFor(baseUrl, { identifier: image.identifier, published }, capabilities)],
    items: [
      {
        id: annotationPageUrl(baseUrl, objectId, image.identifier),
        type: 'AnnotationPage',
        items: [
          {
            id: paintingAnnotationUrl(baseUrl, objectId, image.identifier),
            type: 'Annotation',
            motivation: 'painting',
            target: id,
            body: imageBody(baseUrl, image.identifier, published, capabilities),
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Manifest

/** The institution's names, else its name, else its key. */
export function institutionLabel(record: MappedRecord, institutionKey: string): LanguageMap {
  const label = languageMap(record.institution?.label);
  if (!isEmptyMap(label)) return label;
  return noneMap(record.institution?.name ?? institutionKey);
}

/** The holding institution: its web site when known, else its collection here (an Agent needs an id). */
export function providerFor(baseUrl: string, record: MappedRecord, institutionKey: string): Agent[] | undefined {
  if (!record.institution) return undefined;
  const label = institutionLabel(record, institutionKey);
  const weblink = httpUri(record.institution.weblink);
  return [
    {
      id: weblink ?? institutionCollectionUrl(baseUrl, 3, institutionKey),
      type: 'Agent',
      label,
      ...(weblink ? { homepage: [{ id: weblink, type: 'Text' as const, label, format: 'text/html' }] } : {}),
    },
  ];
}

/** The museum's page of the work: its PIDs are PURLs that resolve there. */
export function homepageFor(record: MappedRecord, label: LanguageMap): ExternalResource[] | undefined {
  const pid = httpUri(record.workPid) ?? httpUri(record.dataPid);
  return pid ? [{ id: pid, type: 'Text', label, format: 'text/html' }] : undefined;
}

export function seeAlsoFor(seeAlso: ManifestInput['seeAlso']): ExternalResource[] | undefined {
  const id = httpUri(seeAlso?.getRecordUrl);
  return id ? [{ id, type: 'Dataset', label: SEE_ALSO_LABEL, format: 'text/xml', profile: LIDO_PROFILE }] : undefined;
}

export function checkedObjectId(objectId: string): ObjectIdParts {
  const parts = parseObjectId(objectId);
  if (!parts) throw new Error(`"${objectId}" is not an object id ({institution}:{object number})`);
  return parts;
}

/** What both manifest versions start from, checked: no manifest without images or with a malformed object id. */
export function manifestBasis(input: ManifestInput): { baseUrl: string; institution: string; capabilities: ServiceCapabilities; related: RelatedManifest[] } {
  const { institution } = checkedObjectId(input.objectId);
  if (input.images.length === 0) throw new Error(`manifest ${input.objectId}: no published images, and a Manifest needs at least one Canvas`);
  return {
    baseUrl: trimBase(input.baseUrl),
    institution,
    capabilities: input.capabilities ?? DYNAMIC_SERVICE,
    related: relatedManifests(input.related, input.objectId),
  };
}

/**
 * The Presentation 3 manifest of one object. Throws when `images` is empty (a Manifest without Canvases is invalid;
 * the handler answers 404 with its reason before calling) or holds an image that is not published.
 */
export function buildManifest(input: ManifestInput): Manifest {
  const { record, objectId } = input;
  const { baseUrl, institution, capabilities, related } = manifestBasis(input);
  const items = input.images.map((image, i) => buildCanvas(baseUrl, objectId, image, i + 1, capabilities));
  const label = manifestLabel(record, objectId);
  const summary = languageMap(record.descriptions);
  const requiredStatement = requiredStatementFor(record, accessOf(input.images));
  const rights = rightsInForce(input.rights, input.images);
  const provider = providerFor(baseUrl, record, institution);
  const homepage = homepageFor(record, label);
  const seeAlso = seeAlsoFor(input.seeAlso);
  const navDate = navDateFor(record.dates);
  const partOf: ResourceRef[] = [
    { id: institutionCollectionUrl(baseUrl, 3, institution), type: 'Collection', label: institutionLabel(record, institution) },
    ...related
      .filter((r) => r.relation === 'isPartOf')
      .map((r): ResourceRef => ({ id: manifestUrl(baseUrl, 3, r.objectId), type: 'Manifest', label: labelOr(r.label, parseObjectId(r.objectId)!.objectNumber) })),
  ];
  const authorised = input.images.some((image) => (image.published?.access?.policy ?? 'open') !== 'open');
  return {
    '@context': authorised ? [AUTH2_CONTEXT, PRESENTATION3_CONTEXT] : PRESENTATION3_CONTEXT,
    id: manifestUrl(baseUrl, 3, objectId),
    type: 'Manifest',
    label,
    ...(isEmptyMap(summary) ? {} : { summary }),
    metadata: buildMetadata(record, related),
    ...(requiredStatement ? { requiredStatement } : {}),
    ...(rights ? { rights } : {}),
    ...(provider ? { provider } : {}),
    ...(homepage ? { homepage } : {}),
    ...(seeAlso ? { seeAlso } : {}),
    thumbnail: items[0]!.thumbnail,
    ...(navDate ? { navDate } : {}),
    ...(items.length > 1 ? { behavior: ['individuals' as const] } : {}),
    partOf,
    items,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Collections

export interface InstitutionRef {
  key: string;
  label: LanguageMap;
}

export interface InstitutionSummary extends InstitutionRef {
  /** Manifests in its collection, shown as the item's summary. */
  count?: number;
}

export interface CollectionManifest {
  objectId: string;
  label: LanguageMap;
  /** The object's first image, for a thumbnail in collection views. */
  thumbnail?: ThumbnailSource;
}

export interface CollectionPageRef {
  firstObjectId: string;
  label?: LanguageMap;
}

export interface TopCollectionInput {
  baseUrl: string;
  institutions: InstitutionSummary[];
  label?: LanguageMap;
}

export interface InstitutionCollectionInput {
  baseUrl: string;
  institution: InstitutionRef;
  /** Listed when `pages` is absent or empty. */
  manifests: CollectionManifest[];
  /** Page sub-collections, for institutions with more than {@link COLLECTION_PAGE_SIZE} manifests. */
  pages?: CollectionPageRef[];
}

export interface CollectionPageInput {
  baseUrl: string;
  institution: InstitutionRef;
  firstObjectId: string;
  manifests: CollectionManifest[];
  label?: LanguageMap;
}

export const TOP_COLLECTION_LABEL: LanguageMap = { en: ['Collections'], nl: ['Collecties'] };

/** A clean label, else `fallback` under `none`: every collection item needs a label. */
export function labelOr(label: LanguageMap | undefined, fallback: string): LanguageMap {
  const clean = languageMap(label);
  return isEmptyMap(clean) ? noneMap(fallback) : clean;
}

export function countSummary(count: number): LanguageMap {
  return { en: [`${count} ${count === 1 ? 'object' : 'objects'}`], nl: [`${count} ${count === 1 ? 'object' : 'objecten'}`] };
}

/** Pages of {@link COLLECTION_PAGE_SIZE} manifests, in the given order, each named after its first and last object. */
export function collectionPages<T extends { objectId: string }>(manifests: T[], size: number = COLLECTION_PAGE_SIZE): (CollectionPageRef & { label: LanguageMap; manifests: T[] })[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`page size must be a positive integer, got ${size}`);
  const pages: (CollectionPageRef & { label: LanguageMap; manifests: T[] })[] = [];
  for (let i = 0; i < manifests.length; i += size) {
    const slice = manifests.slice(i, i + size);
    const first = slice[0]!.objectId;
    const last = slice[slice.length - 1]!.objectId;
    const number = (id: string) => parseObjectId(id)?.objectNumber ?? id;
    pages.push({ firstObjectId: first, label: { none: [first === last ? number(first) : `${number(first)} – ${number(last)}`] }, manifests: slice });
  }
  return pages;
}

function manifestRef(baseUrl: string, m: CollectionManifest): ResourceRef {
  return {
    id: manifestUrl(baseUrl, 3, m.objectId),
    type: 'Manifest',
    label: labelOr(m.label, parseObjectId(m.objectId)?.objectNumber ?? m.objectId),
    ...(m.thumbnail ? { thumbnail: [thumbnailFor(baseUrl, m.thumbnail)] } : {}),
  };
}

function institutionRef(baseUrl: string, institution: InstitutionRef): ResourceRef {
  return { id: institutionCollectionUrl(baseUrl, 3, institution.key), type: 'Collection', label: labelOr(institution.label, institution.key) };
}

/** The given label, else "from {first object number}". */
export function pageLabel(firstObjectId: string, label: LanguageMap | undefined): LanguageMap {
  const clean = languageMap(label);
  if (!isEmptyMap(clean)) return clean;
  const number = parseObjectId(firstObjectId)?.objectNumber ?? firstObjectId;
  return { en: [`from ${number}`], nl: [`vanaf ${number}`] };
}

/** Every institution's collection, never a manifest: the top stays small however large the collections grow. */
export function buildTopCollection(input: TopCollectionInput): Collection {
  const baseUrl = trimBase(input.baseUrl);
  return {
    '@context': PRESENTATION3_CONTEXT,
    id: topCollectionUrl(baseUrl, 3),
    type: 'Collection',
    label: isEmptyMap(languageMap(input.label)) ? TOP_COLLECTION_LABEL : languageMap(input.label),
    items: input.institutions.map((i) => ({
      ...institutionRef(baseUrl, i),
      ...(i.count !== undefined ? { summary: countSummary(i.count) } : {}),
    })),
  };
}

/** An institution's manifests, or its pages when there are too many for one document. */
export function buildInstitutionCollection(input: InstitutionCollectionInput): Collection {
  const baseUrl = trimBase(input.baseUrl);
  const { institution } = input;
  const pages = input.pages ?? [];
  const { id, label } = institutionRef(baseUrl, institution);
  return {
    '@context': PRESENTATION3_CONTEXT,
    id,
    type: 'Collection',
    label,
    partOf: [{ id: topCollectionUrl(baseUrl, 3), type: 'Collection', label: TOP_COLLECTION_LABEL }],
    items:
      pages.length > 0
        ? pages.map((p) => ({ id: collectionPageUrl(baseUrl, 3, institution.key, p.firstObjectId), type: 'Collection' as const, label: pageLabel(p.firstObjectId, p.label) }))
        : input.manifests.map((m) => manifestRef(baseUrl, m)),
  };
}

/** One page of a large institution's manifests, part of the institution's collection. */
export function buildCollectionPage(input: CollectionPageInput): Collection {
  const baseUrl = trimBase(input.baseUrl);
  return {
    '@context': PRESENTATION3_CONTEXT,
    id: collectionPageUrl(baseUrl, 3, input.institution.key, input.firstObjectId),
    type: 'Collection',
    label: pageLabel(input.firstObjectId, input.label),
    partOf: [institutionRef(baseUrl, input.institution)],
    items: input.manifests.map((m) => manifestRef(baseUrl, m)),
  };
}

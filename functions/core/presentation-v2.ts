/**
 * IIIF Presentation 2.1 manifests and collections, for viewers that never learnt 3.0 (Mirador 2, older Universal
 * Viewer and many aggregators). Built from the same input as presentation.ts and saying the same things, so the two
 * never drift apart: same metadata (language maps become 2.1 language-tagged values), same images, same related-work
 * decisions. Differences, and why:
 *  - The label is one string, the Dutch title first (the data hub's language), because 2.1 clients often show a
 *    label without choosing a language.
 *  - Rights go to `license`, credit line and institution to `attribution`, the museum page to `related`, the
 *    institution collection (and the whole of a polyptych panel) to `within`.
 *  - The painting resource is `full/full` only when that is what the service returns within its size limits; for
 *    larger images it names the width `max` really has (`full/{w},`), which the Image API serves, rather than a
 *    `full/full` that would be refused.
 *  - Thumbnails are the same stored size as in 3.0, under their 2.1 name (`full/{w},`), which is stored too.
 */
import type { ImageItem, PublishedPyramid } from './image-item.ts';
import { DYNAMIC_SERVICE, IMAGE2_CONTEXT, type ServiceCapabilities } from './info-json.ts';
import {
  buildMetadata,
  canvasUrl,
  manifestBasis,
  collectionPageUrl,
  countSummary,
  homepageFor,
  httpUri,
  isEmptyMap,
  imageAnnotationUrlV2,
  imageService2Url,
  institutionCollectionUrl,
  labelOr,
  languageMap,
  LIDO_PROFILE,
  manifestLabel,
  manifestUrl,
  navDateFor,
  pageLabel,
  parseObjectId,
  pickValue,
  profile2,
  publishedOf,
  requiredStatementFor,
  SEE_ALSO_LABEL,
  sequenceUrlV2,
  thumbnailSize,
  thumbnailServiceOf,
  accessOf,
  rightsInForce,
  TOP_COLLECTION_LABEL,
  topCollectionUrl,
  trimBase,
  type CollectionManifest,
  type CollectionPageInput,
  type InstitutionCollectionInput,
  type InstitutionRef,
  type LanguageMap,
  type ManifestInput,
  type ThumbnailSource,
  type TopCollectionInput,
} from './presentation.ts';

export const PRESENTATION2_CONTEXT = 'http://iiif.io/api/presentation/2/context.json';

/** A 2.1 language-tagged value (JSON-LD value object). */
export interface LanguageValue2 {
  '@value': string;
  '@language': string;
}

/** 2.1 text: a plain string, or several values, tagged where the language is known. */
export type Text2 = string | (string | LanguageValue2)[];

export interface ImageService2 {
  '@context': typeof IMAGE2_CONTEXT;
  '@id': string;
  profile: string;
}

export interface ImageResource2 {
  '@id': string;
  '@type': 'dctypes:Image';
  format: 'image/jpeg';
  width: number;
  height: number;
  service: ImageService2;
}

export interface ImageAnnotation2 {
  '@id': string;
  '@type': 'oa:Annotation';
  motivation: 'sc:painting';
  on: string;
  resource: ImageResource2;
}

export interface Canvas2 {
  '@id': string;
  '@type': 'sc:Canvas';
  label: string;
  width: number;
  height: number;
  thumbnail: ImageResource2;
  images: ImageAnnotation2[];
}

export interface Sequence2 {
  '@id': string;
  '@type': 'sc:Sequence';
  canvases: Canvas2[];
}

export interface MetadataEntry2 {
  label: Text2;
  value: Text2;
}

export interface LinkedResource2 {
  '@id': string;
  format: string;
  label: string;
  profile?: string;
}

export interface Manifest2 {
  '@context': typeof PRESENTATION2_CONTEXT;
  '@id': string;
  '@type': 'sc:Manifest';
  label: string;
  description?: Text2;
  metadata: MetadataEntry2[];
  attribution?: string;
  license?: string;
  related?: LinkedResource2;
  seeAlso?: LinkedResource2;
  within: string | string[];
  thumbnail: ImageResource2;
  navDate?: string;
  viewingHint?: 'individuals';
  sequences: Sequence2[];
}

export interface ResourceRef2 {
  '@id': string;
  '@type': 'sc:Collection' | 'sc:Manifest';
  label: string;
  description?: Text2;
  thumbnail?: ImageResource2;
}

export interface Collection2 {
  '@context': typeof PRESENTATION2_CONTEXT;
  '@id': string;
  '@type': 'sc:Collection';
  label: string;
  viewingHint?: 'top';
  within?: string;
  collections?: ResourceRef2[];
  manifests?: ResourceRef2[];
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/** A language map as 2.1 text: untagged (`none`) values as strings, others tagged; one untagged value as a string. */
export function text2(map: LanguageMap): Text2 | undefined {
  const values: (string | LanguageValue2)[] = [];
  for (const [lang, list] of Object.entries(languageMap(map))) {
    for (const v of list) values.push(lang === 'none' ? v : { '@value': v, '@language': lang });
  }
  if (values.length === 0) return undefined;
  return values.length === 1 && typeof values[0] === 'string' ? values[0] : values;
}

/** One string for a label (Dutch first), else the fallback. */
function label2(map: LanguageMap | undefined, fallback: string): string {
  return pickValue(map ?? {}) ?? fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// Images

function service2(baseUrl: string, identifier: string, revision: string, capabilities: ServiceCapabilities): ImageService2 {
  return { '@context': IMAGE2_CONTEXT, '@id': imageService2Url(baseUrl, identifier, revision), profile: profile2(capabilities) };
}

/** The stored thumbnail size under its 2.1 name (`full/{w},`), with the 2.1 service. */
export function thumbnailForV2(baseUrl: string, image: ThumbnailSource, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): ImageResource2 {
  const source = thumbnailServiceOf(baseUrl, image);
  const service: ImageService2 = { '@context': IMAGE2_CONTEXT, '@id': source.version2, profile: profile2(capabilities) };
  const { size } = thumbnailSize(source.published);
  return { '@id': `${service['@id']}/full/${size.width},/0/default.jpg`, '@type': 'dctypes:Image', format: 'image/jpeg', width: size.width, height: size.height, service };
}

/** `full/full` when the whole image is within the limits, else the width `max` has (see the module comment). */
export function imageResourceV2(baseUrl: string, identifier: string, published: PublishedPyramid, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): ImageResource2 {
  const service = service2(baseUrl, identifier, published.revision, capabilities);
  const { maxSize } = published;
  const full = maxSize.width === published.width && maxSize.height === published.height;
  return {
    '@id': `${service['@id']}/full/${full ? 'full' : `${maxSize.width},`}/0/default.jpg`,
    '@type': 'dctypes:Image',
    format: 'image/jpeg',
    width: maxSize.width,
    height: maxSize.height,
    service,
  };
}

export function buildCanvasV2(baseUrl: string, objectId: string, image: ImageItem, position: number, capabilities: ServiceCapabilities = DYNAMIC_SERVICE): Canvas2 {
  const published = publishedOf(image);
  const id = canvasUrl(baseUrl, 2, objectId, image.identifier);
  return {
    '@id': id,
    '@type': 'sc:Canvas',
    label: String(position),
    width: published.width,
    height: published.height,
    thumbnail: thumbnailForV2(baseUrl, { identifier: image.identifier, published }, capabilities),
    images: [
      {
        '@id': imageAnnotationUrlV2(baseUrl, objectId, image.identifier),
        '@type': 'oa:Annotation',
        motivation: 'sc:painting',
        on: id,
        resource: imageResourceV2(baseUrl, image.identifier, published, capabilities),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Manifest

/** The Presentation 2.1 manifest of one object; throws as {@link buildManifest} does. */
export function buildManifestV2(input: ManifestInput): Manifest2 {
  const { record, objectId } = input;
  const { baseUrl, institution, capabilities, related } = manifestBasis(input);
  const canvases = input.images.map((image, i) => buildCanvasV2(baseUrl, objectId, image, i + 1, capabilities));
  const label = label2(manifestLabel(record, objectId), objectId);
  const description = text2(record.descriptions);
  const statement = requiredStatementFor(record, accessOf(input.images))?.value;
  const attribution = statement?.none?.[0] ?? statement?.en?.[0];
  const license = rightsInForce(input.rights, input.images);
  const homepage = homepageFor(record, { none: [label] })?.[0];
  const getRecord = httpUri(input.seeAlso?.getRecordUrl);
  const navDate = navDateFor(record.dates);
  const within = [institutionCollectionUrl(baseUrl, 2, institution), ...related.filter((r) => r.relation === 'isPartOf').map((r) => manifestUrl(baseUrl, 2, r.objectId))];
  return {
    '@context': PRESENTATION2_CONTEXT,
    '@id': manifestUrl(baseUrl, 2, objectId),
    '@type': 'sc:Manifest',
    label,
    ...(description !== undefined ? { description } : {}),
    metadata: buildMetadata(record, related).map((m) => ({ label: text2(m.label)!, value: text2(m.value)! })),
    ...(attribution ? { attribution } : {}),
    ...(license ? { license } : {}),
    ...(homepage ? { related: { '@id': homepage.id, format: 'text/html', label } } : {}),
    ...(getRecord ? { seeAlso: { '@id': getRecord, format: 'text/xml', profile: LIDO_PROFILE, label: SEE_ALSO_LABEL.en![0]! } } : {}),
    within: within.length === 1 ? within[0]! : within,
    thumbnail: canvases[0]!.thumbnail,
    ...(navDate ? { navDate } : {}),
    ...(canvases.length > 1 ? { viewingHint: 'individuals' as const } : {}),
    sequences: [{ '@id': sequenceUrlV2(baseUrl, objectId), '@type': 'sc:Sequence', canvases }],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Collections

function manifestRef2(baseUrl: string, m: CollectionManifest): ResourceRef2 {
  return {
    '@id': manifestUrl(baseUrl, 2, m.objectId),
    '@type': 'sc:Manifest',
    label: label2(labelOr(m.label, parseObjectId(m.objectId)?.objectNumber ?? m.objectId), m.objectId),
    ...(m.thumbnail ? { thumbnail: thumbnailForV2(baseUrl, m.thumbnail) } : {}),
  };
}

function institutionRef2(baseUrl: string, institution: InstitutionRef): ResourceRef2 {
  return { '@id': institutionCollectionUrl(baseUrl, 2, institution.key), '@type': 'sc:Collection', label: label2(institution.label, institution.key) };
}

/** The top collection (`viewingHint: top`), listing institution collections only. */
export function buildTopCollectionV2(input: TopCollectionInput): Collection2 {
  const baseUrl = trimBase(input.baseUrl);
  return {
    '@context': PRESENTATION2_CONTEXT,
    '@id': topCollectionUrl(baseUrl, 2),
    '@type': 'sc:Collection',
    label: label2(isEmptyMap(languageMap(input.label)) ? TOP_COLLECTION_LABEL : languageMap(input.label), 'Collections'),
    viewingHint: 'top',
    collections: input.institutions.map((i) => ({
      ...institutionRef2(baseUrl, i),
      ...(i.count !== undefined ? { description: text2(countSummary(i.count))! } : {}),
    })),
  };
}

export function buildInstitutionCollectionV2(input: InstitutionCollectionInput): Collection2 {
  const baseUrl = trimBase(input.baseUrl);
  const pages = input.pages ?? [];
  return {
    '@context': PRESENTATION2_CONTEXT,
    ...institutionRef2(baseUrl, input.institution),
    '@type': 'sc:Collection',
    within: topCollectionUrl(baseUrl, 2),
    ...(pages.length > 0
      ? {
          collections: pages.map((p): ResourceRef2 => ({
            '@id': collectionPageUrl(baseUrl, 2, input.institution.key, p.firstObjectId),
            '@type': 'sc:Collection',
            label: label2(pageLabel(p.firstObjectId, p.label), p.firstObjectId),
          })),
        }
      : { manifests: input.manifests.map((m) => manifestRef2(baseUrl, m)) }),
  };
}

export function buildCollectionPageV2(input: CollectionPageInput): Collection2 {
  const baseUrl = trimBase(input.baseUrl);
  return {
    '@context': PRESENTATION2_CONTEXT,
    '@id': collectionPageUrl(baseUrl, 2, input.institution.key, input.firstObjectId),
    '@type': 'sc:Collection',
    label: label2(pageLabel(input.firstObjectId, input.label), input.firstObjectId),
    within: institutionCollectionUrl(baseUrl, 2, input.institution.key),
    manifests: input.manifests.map((m) => manifestRef2(baseUrl, m)),
  };
}


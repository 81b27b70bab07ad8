/**
 * The image item: the truth about one ingested master and its published pyramid. Dimensions, levels and sizes are
 * decided at ingest and never guessed at request time.
 */
import type { AccessDecision, ImageAccessFlags } from './access-policy.ts';
import type { EmbeddedMetadata } from './embedded-metadata.ts';
import type { KeyHints } from './identifier.ts';
import type { Size, SizeLimits } from './pyramid.ts';

export type ImageStatus = 'processing' | 'ready' | 'failed' | 'deleted';

/** What ties an image to a data-hub record: hints from the key, S3 object metadata and embedded metadata. */
export interface LinkHints extends KeyHints {
  dataPid?: string;
  workPid?: string;
  /** Canvas order among the images of one object (S3 metadata `sort-number`), as the predecessor's iiifsortnumber. */
  sortNumber?: number;
  /** Access flags the uploader set (S3 metadata `access`, `cleared-for-public-use`, `in-copyright`). */
  access?: ImageAccessFlags;
}

export interface SourceDescription {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  versionId?: string;
  /** SHA-256 of the master's bytes, hex. */
  checksum: string;
  /** Decoder's name for the container (`jpeg`, `tiff`, `jp2`, …). */
  format: string;
  /** Stored dimensions of the chosen page, before orientation. */
  width: number;
  height: number;
  pages: number;
  page: number;
  orientation?: number;
  colourSpace: string;
  bitsPerSample: number;
  hasAlpha: boolean;
  iccProfile?: string;
}

export interface PublishedPyramid {
  revision: string;
  width: number;
  height: number;
  tileSize: number;
  scaleFactors: number[];
  sizes: Size[];
  limits: SizeLimits;
  maxSize: Size;
  files: number;
  bytes: number;
  rights?: string;
  /**
   * The access decision this revision was published under; absent means open (revisions published before access
   * policies existed). Which files are public follows from it (see core/access-layout.ts).
   */
  access?: AccessDecision;
  /** restricted-size: the size-limited image, a complete public image service of its own (the probe's substitute). */
  substitute?: PublishedSubstitute;
}

/**
 * The size-limited version of a restricted-size image: the whole image scaled to fit `maxLongSide`, with its own
 * small pyramid in the public store under `iiif/{2,3}/{identifier}/…`, where `identifier` is
 * `{image identifier}~{revision}~{maxLongSide}` (see {@link substituteIdentifier}).
 */
export interface PublishedSubstitute {
  identifier: string;
  width: number;
  height: number;
  tileSize: number;
  scaleFactors: number[];
  sizes: Size[];
  files: number;
}

export interface ImageItem {
  identifier: string;
  sourceKey: string;
  status: ImageStatus;
  /** Why the last attempt failed, in words an uploader understands. */
  reason?: string;
  source?: SourceDescription;
  /** The revision clients see. A failed replacement leaves the previous revision published. */
  published?: PublishedPyramid;
  /**
   * The revision this one replaced, still stored until the next replacement so that clients holding its info.json
   * keep working; the Image API answers for it too.
   */
  superseded?: PublishedPyramid;
  embedded?: EmbeddedMetadata;
  links: LinkHints;
  createdAt: string;
  updatedAt: string;
  publishedAt?: string;
  /** Milliseconds per ingest stage, for operators. */
  timings?: Record<string, number>;
}

/** A key that could not become an image at all (unmappable key, identifier owned by another key). */
export interface IngestRefusal {
  sourceKey: string;
  reason: string;
  identifier?: string;
  at: string;
}

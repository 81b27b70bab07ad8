/**
 * IIIF identifiers derived from ingest-bucket keys.
 *
 * The rule (documented in the README, "Identifiers"):
 *  1. The key is split on `/`. Keys ending in `/` (folder markers) and hidden files (`.DS_Store`, `._x.tif`) and
 *     well-known desktop litter (`Thumbs.db`, `desktop.ini`) are ignored, not refused: they are not masters.
 *  2. A known image extension is removed from the last segment (`1829-A.tif` → `1829-A`). Unknown extensions stay,
 *     because museum object numbers contain dots (`0000.GRO0208.I`).
 *  3. Each segment is transliterated (é → e) and every run of characters outside `A-Z a-z 0-9 . _ -` becomes `_`;
 *     leading/trailing `_` are trimmed. A segment that ends up empty, or is `.`/`..`, refuses the key.
 *  4. Segments are joined with `:`: `mskgent.be/1829-A.tif` → `mskgent.be:1829-A`; a top-level
 *     `67352ccc-d1b0-11e1-89ae-279075081939.png` → `67352ccc-d1b0-11e1-89ae-279075081939`.
 * Case is preserved. Because several keys can map to one identifier (`1829-A.tif` and `1829-A.jpg`, or `a b.tif`
 * and `a_b.tif`), the ingest claims an identifier for one source key and refuses the others with a reason.
 *
 * A published pyramid is addressed by `{identifier}~{revision}`; `~` can never occur in an identifier, so the
 * split is unambiguous.
 */

export const IMAGE_EXTENSIONS: readonly string[] = [
  'jpg', 'jpeg', 'jpe', 'jfif', 'tif', 'tiff', 'ptif', 'png', 'webp', 'gif', 'avif', 'heic', 'heif',
  'jp2', 'j2k', 'jpf', 'jpx', 'j2c', 'jph',
];

export const MAX_IDENTIFIER_LENGTH = 200;
export const REVISION_SEPARATOR = '~';

const IGNORED_BASENAMES = new Set(['thumbs.db', 'desktop.ini', 'icon\r']);

export type IdentifierResult =
  | { kind: 'identifier'; identifier: string; hints: KeyHints }
  | { kind: 'ignored'; reason: string }
  | { kind: 'refused'; reason: string };

/** What the key itself tells about the object the image depicts (used to link images to data-hub records). */
export interface KeyHints {
  /** First folder, conventionally the institution's domain (`mskgent.be`). */
  institution?: string;
  /** File name without its image extension, exactly as uploaded (`1829-A`). */
  objectNumber: string;
}

function stripImageExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return name;
  const ext = name.slice(dot + 1).toLowerCase();
  return IMAGE_EXTENSIONS.includes(ext) ? name.slice(0, dot) : name;
}

function normaliseSegment(segment: string): string {
  return segment
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function identifierForKey(key: string): IdentifierResult {
  if (key.length === 0) return { kind: 'refused', reason: 'empty object key' };
  if (key.endsWith('/')) return { kind: 'ignored', reason: 'folder marker, not a file' };
  const segments = key.split('/');
  const basename = segments[segments.length - 1] ?? '';
  if (basename.startsWith('.') || IGNORED_BASENAMES.has(basename.toLowerCase())) {
    return { kind: 'ignored', reason: `hidden or system file "${basename}"` };
  }
  const raw = [...segments.slice(0, -1), stripImageExtension(basename)];
  const parts: string[] = [];
  for (const segment of raw) {
    if (segment === '') return { kind: 'refused', reason: `key "${key}" has an empty path segment` };
    const part = normaliseSegment(segment);
    if (part === '' || part === '.' || part === '..') {
      return { kind: 'refused', reason: `key segment "${segment}" has no characters usable in a IIIF identifier` };
    }
    parts.push(part);
  }
  const identifier = parts.join(':');
  if (identifier.length > MAX_IDENTIFIER_LENGTH) {
    return { kind: 'refused', reason: `identifier would be ${identifier.length} characters long (limit ${MAX_IDENTIFIER_LENGTH})` };
  }
  const hints: KeyHints = { objectNumber: stripImageExtension(basename) };
  if (segments.length > 1 && segments[0]) hints.institution = segments[0];
  return { kind: 'identifier', identifier, hints };
}

/** True for strings that could be an identifier produced by {@link identifierForKey}. */
export function isIdentifier(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= MAX_IDENTIFIER_LENGTH &&
    /^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*$/.test(value) &&
    !value.split(':').some((p) => p === '.' || p === '..')
  );
}

/** The identifier under which one immutable revision of an image's pyramid is published. */
export function revisionIdentifier(identifier: string, revision: string): string {
  return `${identifier}${REVISION_SEPARATOR}${revision}`;
}

/**
 * The identifier of a restricted-size image's substitute (its size-limited version) for one revision:
 * `{identifier}~{revision}~{maxLongSide}`. Immutable like the revision it is made from.
 */
export function substituteIdentifier(identifier: string, revision: string, maxLongSide: number): string {
  return `${identifier}${REVISION_SEPARATOR}${revision}${REVISION_SEPARATOR}${maxLongSide}`;
}

/** `{identifier}`, `{identifier}~{revision}` or `{identifier}~{revision}~{maxLongSide}` (a substitute). */
export function splitRevisionIdentifier(value: string): { identifier: string; revision?: string; substitute?: number } {
  const [identifier, revision, substitute, ...rest] = value.split(REVISION_SEPARATOR);
  if (revision === undefined) return { identifier: identifier! };
  // Anything else after a `~` is no identifier the ingest names: kept whole in `revision`, so it never matches.
  if (substitute === undefined) return { identifier: identifier!, revision };
  if (rest.length === 0 && /^[1-9]\d{0,5}$/.test(substitute)) return { identifier: identifier!, revision, substitute: Number(substitute) };
  return { identifier: identifier!, revision: value.slice(identifier!.length + 1) };
}

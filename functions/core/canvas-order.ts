/**
 * The order of an object's images (its canvases), decided from what uploaders and the record say, as the
 * predecessor did: an explicit sort number (S3 metadata `sort-number`, its `iiifsortnumber`) wins; then the
 * record's own order of representations (by PID, URL or resource id, `lido:sortorder` first); then identifiers
 * compared with numbers as numbers (`…_2` before `…_10`).
 */
import type { ImageItem } from './image-item.ts';
import type { MappedRecord } from './record.ts';
import { pidKey } from './record-keys.ts';

export function orderImages(record: Pick<MappedRecord, 'representations'>, images: ImageItem[]): ImageItem[] {
  const rank = representationRanks(record.representations);
  const representationRank = (image: ImageItem): number => {
    const candidates = [pidKey(image.links.dataPid), pidKey(image.links.workPid), image.links.objectNumber, image.identifier];
    return Math.min(...candidates.map((c) => (c ? rank.get(c) ?? Infinity : Infinity)));
  };
  const collator = new Intl.Collator('en', { numeric: true });
  return images
    .map((image) => ({ image, sort: image.links.sortNumber ?? Infinity, representation: representationRank(image) }))
    .sort((a, b) => a.sort - b.sort || a.representation - b.representation || collator.compare(a.image.identifier, b.image.identifier))
    .map((entry) => entry.image);
}

/** Lookup key → position of the representation it identifies (its sortorder when given, else record order). */
function representationRanks(representations: MappedRecord['representations']): Map<string, number> {
  const ranks = new Map<string, number>();
  representations.forEach((representation, index) => {
    const rank = representation.sortOrder ?? index;
    for (const key of [pidKey(representation.pid), pidKey(representation.url), representation.resourceId]) {
      if (key && !ranks.has(key)) ranks.set(key, rank);
    }
  });
  return ranks;
}

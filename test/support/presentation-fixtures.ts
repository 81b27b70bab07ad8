/** Real records and realistic published images for the Presentation tests (3.0 and 2.1 alike). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageItem } from '../../functions/core/image-item.ts';
import { mapLidoRecord } from '../../functions/core/lido.ts';
import { maxSizeFor, scaleFactorsFor, sizesFor, type SizeLimits } from '../../functions/core/pyramid.ts';
import type { MappedRecord } from '../../functions/core/record.ts';

export const DATAHUB_FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/datahub');
/** The shared data-hub records beside the checkout (absent: the sweeps over them are skipped with a message). */
export const SHARED_DATAHUB = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/datahub');
const IMAGEHUB = join(DATAHUB_FIXTURES, 'vkc-imagehub-fixes');
export const ORIGIN_1829A = join(IMAGEHUB, '1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
export const ORIGIN_GRO0208 = join(IMAGEHUB, '1LidoMulImage__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml');
export const ORIGIN_257_260 = join(IMAGEHUB, 'MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257-260.xml');
export const DESTINATION_257 = join(IMAGEHUB, 'MulLido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml');
export const GET_RECORD = 'https://datahub.vlaamsekunstcollectie.be/oai?verb=GetRecord&metadataPrefix=oai_lido&identifier=';

/** The one record of a single-record LIDO file, through the harvester's own mapping. */
export function recordOf(path: string): MappedRecord {
  const result = mapLidoRecord(readFileSync(path, 'utf8'));
  if (!result.ok) throw new Error(`${path}: ${result.skipped.reason}`);
  return result.record;
}

/**
 * A ready image as the ingest would publish it: the pyramid's scale factors, `sizes` and `max` computed by the same
 * functions the ingest uses, within the default 4096² area limit unless told otherwise.
 */
export function makeImage(identifier: string, width = 6000, height = 4000, revision = 'r1', limits: SizeLimits = { maxArea: 16_777_216 }): ImageItem {
  const scaleFactors = scaleFactorsFor(width, height, 512);
  return {
    identifier,
    sourceKey: `${identifier.replace(':', '/')}.tif`,
    status: 'ready',
    links: { objectNumber: identifier.split(':').pop()! },
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    published: {
      revision,
      width,
      height,
      tileSize: 512,
      scaleFactors,
      sizes: sizesFor(width, height, scaleFactors, limits),
      limits,
      maxSize: maxSizeFor(width, height, limits),
      files: 100,
      bytes: 1_000_000,
    },
  };
}

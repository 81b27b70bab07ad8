/**
 * Synthetic data-hub records for tests and the harvest benchmark: the real 2019 VKC ORIGIN records (copies under
 * test/fixtures/datahub) with their object number varied, so every record is a real LIDO record with its own ids.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RepositoryRecord } from './oai-server.ts';

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/datahub/vkc-imagehub-fixes');
const templateXml = new Map<string, string>();
/** Read once: the benchmark makes tens of thousands of records from four files. */
function readTemplate(file: string): string {
  let xml = templateXml.get(file);
  if (xml === undefined) {
    xml = readFileSync(join(FIXTURES, file), 'utf8');
    templateXml.set(file, xml);
  }
  return xml;
}
export const HUB = 'oai:datahub.vlaamsekunstcollectie.be';

/** The 2019 ORIGIN records (byte-identical copies of the shared fixtures) and how to vary their object number. */
const TEMPLATES = [
  { file: '1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml', institution: 'mskgent.be', raw: '1829-A', number: (n: number) => `${1000 + n}-A` },
  {
    file: '1LidoMulImage__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_groeningemuseum.be_0000_GRO0208_I.xml',
    institution: 'groeningemuseum.be',
    raw: '0000.GRO0208.I',
    number: (n: number) => `0000.GRO${1000 + n}.I`,
  },
  { file: 'MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257-260.xml', institution: 'kmska.be', raw: '257-260', number: (n: number) => `${2000 + n}-${2003 + n}` },
  { file: 'MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml', institution: 'kmska.be', raw: '257', number: (n: number) => `${5000 + n}` },
];
export const cleaned = (objectNumber: string) => objectNumber.replace(/\./g, '_');

export interface Made {
  record: RepositoryRecord;
  institution: string;
  objectNumber: string;
  dataPid: string;
  workPid: string;
}

/** Record `n` of template `t`: the template's XML with its object number (raw and cleaned forms) replaced. */
export function makeRecord(t: number, n: number, datestamp: string, tweak = ''): Made {
  const template = TEMPLATES[t]!;
  const objectNumber = template.number(n);
  let xml = readTemplate(template.file).replace(/^<\?xml[^>]*\?>\s*/, '');
  // Identifiers only: element text equal to the number, and PIDs / OAI ids ending in its cleaned form.
  xml = xml
    .replaceAll(`>${template.raw}<`, `>${objectNumber}<`)
    .replaceAll(`/${cleaned(template.raw)}<`, `/${cleaned(objectNumber)}<`)
    .replaceAll(`:${cleaned(template.raw)}<`, `:${cleaned(objectNumber)}<`);
  if (tweak) xml = xml.replace('</lido:lido>', `<!-- ${tweak} --></lido:lido>`);
  const identifier = `${HUB}:${template.institution}:${cleaned(objectNumber)}`;
  return {
    record: { identifier, datestamp, setSpecs: [`institution:${template.institution.replace('.', '_')}`], xml },
    institution: template.institution,
    objectNumber,
    dataPid: `http://${template.institution}/collection/work/data/${cleaned(objectNumber)}`,
    workPid: `http://${template.institution}/collection/work/id/${cleaned(objectNumber)}`,
  };
}

/** 120 records, 30 per template, datestamps an hour apart from 2026-01-01. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function collection(size = 120): Made[] {
  return Array.from({ length: size }, (_, i) => makeRecord(i % 4, Math.floor(i / 4) + 1, stamp(Date.parse('2026-01-01T00:00:00Z') + i * 3_600_000)));
}


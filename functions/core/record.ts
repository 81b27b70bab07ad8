/**
 * One data-hub record as imagehub mirrors it: the fields of a LIDO record that manifests, image linkage and rights
 * decisions need, extracted once at harvest time (functions/core/lido.ts) and stored next to the raw LIDO XML.
 *
 * Conventions, so consumers never have to second-guess a value:
 *  - Every string is trimmed and non-empty. Placeholders the data hub's pipelines insert for required elements
 *    ("n/a", "N/A", Perl's "HASH(0x…)", unresolved Catmandu paths like "or_record.x.y") count as absent.
 *  - Collections are always present, empty when the record has nothing (deleted records have nothing at all).
 *  - Language maps follow IIIF Presentation 3: the key is the value's `xml:lang` (as written in the record, e.g. `nl`
 *    or `nl-NL`), else the `xml:lang` of its `descriptiveMetadata` block, else `none`.
 *  - Values keep record order; exact duplicates (common when a record repeats a block per language) are dropped.
 */

/** IIIF-style language map: language tag → values in record order. */
export type LanguageMap = Record<string, string[]>;

export interface MappedRecord {
  /**
   * The mirror's key: the OAI-PMH identifier the data hub serves the record under. Taken from the record itself, the
   * last `lidoRecID` that is `lido:pref="preferred"` or has no pref (what the Datahub's ListRecords uses), e.g.
   * `oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A`. Falls back to the OAI header identifier, then to any
   * `lidoRecID` (a warning says so).
   */
  recordId: string;
  /** The identifier in the OAI-PMH header the record came with, when it came in an envelope. */
  oaiIdentifier?: string;
  /** OAI-PMH header datestamp (`YYYY-MM-DDThh:mm:ssZ` at the Datahub), the harvester's incremental cursor. */
  datestamp?: string;
  /** OAI-PMH setSpecs (`institution:museum_voor_schone_kunsten_gent`, `creator:…`), in header order. */
  setSpecs: string[];
  /** True for an OAI-PMH `status="deleted"` header: such a record has only its identifiers and this flag. */
  deleted?: boolean;
  /** Data PID, a PURL for the record (`http://mskgent.be/collection/work/data/1829-A`). */
  dataPid?: string;
  /** Work PID, a PURL for the work itself (`lido:objectPublishedID`, `http://mskgent.be/collection/work/id/1829-A`). */
  workPid?: string;
  /** The collection system's own record id (`recordWrap/recordID[@lido:type="local"]`: Adlib priref, TMS id). */
  localRecordId?: string;
  /** Object (inventory) number exactly as the record writes it (`0000.GRO0208.I`). */
  objectNumber?: string;
  /**
   * The object number in the cleaned form the PIDs and OAI identifiers use (`0000_GRO0208_I`): the Imagehub's
   * `StringUtil::cleanObjectNumber`, see {@link cleanObjectNumber}.
   */
  objectNumberNormalised?: string;
  /** The holding institution (repository), else the record source (legal body). */
  institution?: Institution;
  /** Titles per language; the first value of a language is its preferred title. */
  titles: LanguageMap;
  /** Alternate titles whose language the record does not state (2019 VKC records list fr/en/de titles this way). */
  alternativeTitles: string[];
  /** Descriptions (`descriptiveNoteValue`) per language. */
  descriptions: LanguageMap;
  /** Actors of the production/creation event(s), in record order. */
  creators: Creator[];
  /** Dates of the first production event that has any. */
  dates: ProductionDates;
  /** Period names of the production event(s) per language (`{ nl: ['15de eeuw', '16de eeuw'] }`). */
  period?: LanguageMap;
  /** `objectWorkType` concepts (olieverfschilderij, AAT 300033799). */
  objectTypes: Concept[];
  /** Object categories: `classification` typed object-category/objectcategorie, or untyped. */
  categories: Concept[];
  /** `termMaterialsTech` concepts typed material, or untyped. */
  materials: Concept[];
  /** `termMaterialsTech` concepts typed technique. */
  techniques: Concept[];
  /** `displayMaterialsTech` texts ("olieverf op doek"). */
  materialsDisplay: string[];
  /** Measurements with a numeric value (decimal commas read as points; zero values, a TMS placeholder, dropped). */
  dimensions: Dimension[];
  /** `displayObjectMeasurements` texts ("29,5 × 82,1 × 2 cm"), also when no structured measurement exists. */
  dimensionsDisplay: string[];
  /** Subject concepts (incl. Iconclass), the 2019 `classification[@lido:type="hoofdmotief"]`, depicted actors/places. */
  subjects: Subject[];
  /** Related works (`relatedWorkSet`), in record order. */
  relatedWorks: RelatedWork[];
  /** Rights statements exactly as the record gives them; functions/core/rights.ts turns them into a IIIF URI. */
  rights: RecordRights;
  /** `resourceSet`s (images, representation PIDs, the Imagehub's written-back manifest links), in record order. */
  representations: Representation[];
  /** Data problems noticed while mapping that did not prevent it (contradictions, fallbacks). */
  warnings?: string[];
}

export interface Institution {
  /** First name found: repository name in the first descriptive block, else the record source. */
  name: string;
  /** All names per language (the 2019 DESTINATION model adds `en` blocks: "Museum of Fine Arts Ghent"). */
  label: LanguageMap;
  /** `legalBodyWeblink` (`http://mskgent.be`). */
  weblink?: string;
  /** `legalBodyID`, e.g. an ISIL (`BE-GET03`, `info:isil/DE-Mb112`). */
  id?: string;
}

export interface Creator {
  /** Preferred name as written (`Navez, François-Joseph`); the first name when none is marked preferred. */
  name: string;
  /** The actor's other names (alternate appellations, other name sets), for matching against authority files. */
  altNames: string[];
  /** `roleActor/term` ("schilder"). */
  role?: string;
  /** `attributionQualifierActor` ("toegeschreven aan", "atelier van"). */
  attributionQualifier?: string;
  /** `vitalDatesActor/earliestDate` as written (`1787-11-16`, `1450`). */
  birth?: string;
  /** `vitalDatesActor/latestDate` as written. */
  death?: string;
  /** Authority URIs from `actorID` (VIAF, RKD, Wikidata, ULAN, …), as written. Local ids are left out. */
  uris: string[];
}

export interface ProductionDates {
  /** `displayDate` ("circa 1500"). */
  display?: string;
  /** `date/earliestDate` as written (`yyyy[-mm[-dd]]`; the pipelines' "0" counts as absent). */
  earliest?: string;
  /** `date/latestDate` as written. */
  latest?: string;
}

/** A classification term: labels per language plus the vocabulary URIs (AAT, Iconclass) that identify it. */
export interface Concept {
  label: LanguageMap;
  /** http(s) URIs only; AAT ids given as bare numbers become `http://vocab.getty.edu/aat/{id}`. */
  uris: string[];
}

export interface Subject extends Concept {
  /** What the subject is: a concept (`subjectConcept`, `hoofdmotief`), a depicted actor, or a depicted place. */
  kind: 'concept' | 'actor' | 'place';
  /** `subject/@lido:type` (`content-motif-general`, `description`), or `hoofdmotief` for the 2019 classification. */
  type?: string;
  /** Iconclass notation as written (`92 H 39 1`); its URI is in `uris`. */
  iconclass?: string;
}

export interface Dimension {
  /** `measurementType` as written ("hoogte", "Breedte", "diameter"). */
  type?: string;
  value: number;
  /** `measurementUnit` as written ("cm", "Centimeters"). */
  unit?: string;
  /** `extentMeasurements`: which part was measured ("geheel", "lijst", "Inclusief lijst"). */
  extent?: string;
  /** The set's `displayObjectMeasurements`. */
  display?: string;
}

export interface RelatedWork {
  /**
   * The relation, `hasPart`, `isPartOf` or `relatedTo` when recognisable (dcterms URI or term), else the record's
   * own term or URI, else `related`.
   */
  relation: string;
  /** `relatedWorkRelType/conceptID` when it is a URI (`http://purl.org/dc/terms/hasPart`). */
  relationUri?: string;
  /** The related record's OAI identifier (`objectID[@lido:type="oai"]`). */
  recordId?: string;
  /** A PURL or web page for the related work (`objectID` that is a URL, `objectWebResource`). */
  pid?: string;
  /** Its local object id (`objectID[@lido:type="local"]`), typically its object number. */
  localId?: string;
  /** `displayObject` / `objectNote`. */
  label?: string;
  /** `relatedWorkSet/@lido:sortorder`. */
  sortOrder?: number;
}

export interface RightsStatement {
  /** `rightsType/term` ("CC0"). */
  text?: string;
  /** `rightsType/conceptID` (or a term) that is a URI, as written. Not necessarily valid for IIIF. */
  uri?: string;
  /** `rightsHolder/legalBodyName/appellationValue`. */
  holder?: string;
}

export interface RecordRights {
  /** `rightsWorkSet/creditLine`, free text ("CC0", "© SABAM Belgium 2021", "Publiek domein"). */
  creditLine?: string;
  /** `rightsWorkSet`s: the rights in the work. */
  statements: RightsStatement[];
  /** `recordRights`: the licence of the metadata record itself, never of the work or its images. */
  metadata: RightsStatement[];
}

export interface Representation {
  /** A persistent id for the representation (`resourceID` labelled representationPID, or a PURL). */
  pid?: string;
  /** `resourceRepresentation/linkResource`. */
  url?: string;
  /** A `resourceID` that is not a URL (Lukas photo id `0030251001`, bildindex `1.172.842`). */
  resourceId?: string;
  /** `resourceSet/@lido:sortorder`. */
  sortOrder?: number;
  /** `resourceType/term` ("IIIF Manifest", "thumbnail"), else `resourceRepresentation/@lido:type` ("image_thumb"). */
  type?: string;
  /** `rightsResource`: rights in the image (only the 2019 DESTINATION model and non-VKC exports have them). */
  rights: RightsStatement[];
}

/**
 * The Imagehub's `StringUtil::cleanObjectNumber` (after PACKED resolver's `cleanID`): how VKC object numbers become
 * PIDs and OAI identifiers. ` - ` collapses to `-`, trailing `)`/`]`/`°` go, `. ( ) [ ] / ? , & + °` and spaces
 * become `_`, runs of `_` collapse and a trailing `_` goes. Other characters are kept. Checked against all 13,545
 * rows of the VKC authority file PIDS_ALL_UTF8.csv.
 */
export function cleanObjectNumber(objectNumber: string): string {
  let value = objectNumber.trim();
  // The PHP applies its patterns until none matches; a fixed point of the same rewrites gives the same result.
  for (;;) {
    const next = value
      .replace(/- /g, '-')
      .replace(/ -/g, '-')
      .replace(/[)\]°]+$/, '')
      .replace(/[. ()[\]/?,&+°]/g, '_')
      .replace(/__+/g, '_')
      .replace(/_$/, '');
    if (next === value) return value;
    value = next;
  }
}

/** A record with every collection present and empty: what a deleted record, or a mapping's start, is. */
export function emptyRecord(recordId: string): MappedRecord {
  return {
    recordId,
    setSpecs: [],
    titles: {},
    alternativeTitles: [],
    descriptions: {},
    creators: [],
    dates: {},
    objectTypes: [],
    categories: [],
    materials: [],
    techniques: [],
    materialsDisplay: [],
    dimensions: [],
    dimensionsDisplay: [],
    subjects: [],
    relatedWorks: [],
    rights: { statements: [], metadata: [] },
    representations: [],
  };
}

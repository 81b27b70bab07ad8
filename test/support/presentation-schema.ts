/**
 * The IIIF Presentation 3 JSON Schema (IIIF/presentation-validator's `schema/iiif_3_0.json`), as a validator tests
 * can share: `expect(validatePresentation3(doc)).toEqual([])`.
 *
 * Read from the shared fixture set (`../shared/fixtures/iiif/`), not copied into the repository: the schema states
 * no licence, and neither does its repository, so it is not ours to redistribute. Where the shared folder is
 * absent, validation is skipped with a warning (and the tests about the validator itself skip).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ajvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';

export const PRESENTATION3_SCHEMA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/iiif/presentation-3.schema.json');
export const PRESENTATION3_SCHEMA_AVAILABLE = existsSync(PRESENTATION3_SCHEMA);
let warned = false;

// Both packages are CommonJS: imported from ESM, the default import is `module.exports`, whose `default` is the
// class (ajv) and the plugin (ajv-formats), which is also how their type declarations read under NodeNext.
const Ajv = ajvModule.default;
const addFormats = formatsModule.default;

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  validator = ajv.compile(JSON.parse(readFileSync(PRESENTATION3_SCHEMA, 'utf8')) as object);
  return validator;
}

function message(e: ErrorObject): string {
  const params = Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : '';
  return `${e.instancePath || '/'} ${e.message ?? e.keyword}${params}`;
}

/**
 * Schema errors for a Presentation 3 document (Manifest, Collection, …), empty when valid. The schema's `oneOf`
 * branches make ajv report every branch that failed, so one mistake can produce several messages; the order is
 * ajv's. The document is validated as JSON, i.e. after a JSON round trip, as a client would receive it.
 */
export function validatePresentation3(doc: unknown): string[] {
  if (!PRESENTATION3_SCHEMA_AVAILABLE) {
    if (!warned) console.warn(`${PRESENTATION3_SCHEMA} is absent: Presentation 3 schema validation skipped`);
    warned = true;
    return [];
  }
  const validate = compiled();
  if (validate(JSON.parse(JSON.stringify(doc)) as unknown)) return [];
  return [...new Set((validate.errors ?? []).map(message))];
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { LegalError } from './legal-errors.js';

/** The OASIS schemas, vendored in the repository (see vendor/stix2-json-schemas/SOURCE.txt). */
export const STIX_SCHEMA_DIRECTORY = new URL('../../../vendor/stix2-json-schemas/schemas', import.meta.url);
const BUNDLE_SCHEMA_ID =
  'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/common/bundle.json';

export type StixValidator = (bundle: unknown) => void;

/**
 * Compiles the OASIS STIX 2.1 JSON schemas (draft 2020-12) from `directory`, every file added
 * by its `$id` so their relative `$ref`s resolve, and returns a check that throws
 * `INVALID_STIX_BUNDLE` with the first errors. The schemas' patterns use escapes that are
 * only valid without the `u` flag, hence `unicodeRegExp: false`.
 *
 * @example
 * const validate = loadStixValidator(); validate(bundle);
 */
export function loadStixValidator(directory: string | URL = STIX_SCHEMA_DIRECTORY): StixValidator {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats.default(ajv);
  // Formats ajv-formats lacks; no object we write uses them.
  ajv.addFormat('idn-hostname', true);
  ajv.addFormat('idn-email', true);
  const root = typeof directory === 'string' ? directory : fileURLToPath(directory);
  for (const folder of readdirSync(root, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    const path = join(root, folder.name);
    for (const file of readdirSync(path)) {
      if (file.endsWith('.json')) ajv.addSchema(JSON.parse(readFileSync(join(path, file), 'utf8')));
    }
  }
  const validate = ajv.getSchema(BUNDLE_SCHEMA_ID);
  if (validate === undefined) throw new Error(`no STIX bundle schema in ${String(directory)}`);
  return (bundle) => {
    if (validate(bundle) === true) return;
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath} ${e.message ?? ''}`);
    throw new LegalError('INVALID_STIX_BUNDLE', `the STIX bundle does not validate: ${errors.join('; ')}`);
  };
}

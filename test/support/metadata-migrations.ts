import type { AuthTables } from '../../src/control/auth/auth-tables.js';
import { authMigrations } from '../../src/control/auth/auth-tables.js';
import { type LegalTables, legalMigrations } from '../../src/control/legal/legal-tables.js';
import { type PrivacyTables, privacyMigrations } from '../../src/control/privacy/privacy-tables.js';
import {
  type RelocationTables,
  relocationMigrations,
} from '../../src/control/relocation/relocation-tables.js';
import {
  type PublicationTables,
  publicationMigrations,
} from '../../src/control/reports/publication-tables.js';
import { type ResidencyTables, residencyMigrations } from '../../src/control/residency/residency-tables.js';
import { subjectMigrations } from '../../src/site/subjects/subject-tables.js';
import { vaultMigrations } from '../../src/site/vault/vault-tables.js';

/** The control plane's migrations, as `main.ts` opens its metadata store. */
export const controlMigrations = {
  ...authMigrations,
  ...residencyMigrations,
  ...legalMigrations,
  ...privacyMigrations,
  ...relocationMigrations,
  ...publicationMigrations,
};

/** A site's migrations, as `site-main.ts` opens its metadata store. */
export const siteMigrations = { ...subjectMigrations, ...vaultMigrations };

export type ContractTables = AuthTables &
  ResidencyTables &
  LegalTables &
  PrivacyTables &
  RelocationTables &
  PublicationTables;

import { join } from 'node:path';
import type { SiteClient } from '../../ports/site-client.js';
import type { Principal } from '../auth/roles.js';
import { visibleSiteMap } from '../auth/site-scope.js';
import type { VerdictService } from '../lookup/verdict-service.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { StatsRouter } from '../telemetry/stats-router.js';
import { type PackageSigner, type WrittenPackage, writeDisclosurePackage } from './disclosure-package.js';
import type { LegalRequest, LegalState, RejectionReason } from './legal-request.js';
import { scopeRange } from './legal-validation.js';
import { assertNoPersonalData } from './personal-data-guard.js';
import type { StixValidator } from './stix-validator.js';
import { gatherTechnicalExpertise } from './technical-expertise.js';
import { gatherUserData } from './user-data.js';

export interface FulfilmentSources {
  readonly verdicts: VerdictService;
  readonly stats: StatsRouter;
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  /** The deployment's name, the producer of STIX objects. */
  readonly producer: string;
  readonly packageDirectory: string;
  readonly signer: () => PackageSigner;
  readonly validateStix: () => StixValidator;
}

export interface Fulfilment {
  readonly state: LegalState;
  readonly reason: RejectionReason | null;
  readonly written: WrittenPackage | undefined;
  /** What the history records of it. */
  readonly summary: Readonly<Record<string, unknown>>;
}

export function packagePath(directory: string, id: string): string {
  return join(directory, `${id}.zip`);
}

/** Searches, decides the outcome and, when anything may be disclosed, writes the package. */
export async function fulfil(
  request: LegalRequest,
  sources: FulfilmentSources,
  principal: Principal,
  now: Date,
): Promise<Fulfilment> {
  return request.category === 'technical_expertise'
    ? fulfilTechnical(request, sources, principal, now)
    : fulfilUserData(request, sources, principal, now);
}

async function fulfilTechnical(
  request: LegalRequest,
  sources: FulfilmentSources,
  principal: Principal,
  now: Date,
): Promise<Fulfilment> {
  const content = await gatherTechnicalExpertise(
    request.scope,
    scopeRange(request.scope),
    sources,
    principal,
    now,
    `Technical expertise, request ${request.id}`,
  );
  if (content.empty)
    return { state: 'rejected', reason: 'no_data', written: undefined, summary: content.summary };
  const stix = content.files.get('indicators.stix.json');
  if (stix !== undefined) sources.validateStix()(JSON.parse(stix.toString('utf8')));
  await assertNoPersonalData(content.files, {
    forbidden: [...request.scope.installations, request.scope.text.trim()],
    installationsAmong: async (ids) => [...(await sources.registry.locate(ids)).keys()],
  });
  const written = await writeDisclosurePackage(
    content.files,
    manifestFields(request, now, { technical: content.summary }),
    sources.signer(),
    packagePath(sources.packageDirectory, request.id),
  );
  return {
    state: 'fulfilled',
    reason: null,
    written,
    summary: { ...content.summary, package: packageSummary(written) },
  };
}

/**
 * Only the sites the officer's token reaches are searched (site scope): the desk has checked
 * that these include every site the registry assigns the installations to, so what is left
 * out is data left at a former site, and the manifest names those sites (`notSearched`).
 */
async function fulfilUserData(
  request: LegalRequest,
  sources: FulfilmentSources,
  principal: Principal,
  now: Date,
): Promise<Fulfilment> {
  const jurisdictions = request.verification?.jurisdictions ?? [];
  const searched = visibleSiteMap(principal, sources.sites);
  const content = await gatherUserData(
    request.scope,
    scopeRange(request.scope),
    jurisdictions,
    searched,
    sources.registry,
  );
  const notSearched = [...sources.sites.keys()].filter((name) => !searched.has(name));
  const summary = {
    disclosed: content.disclosed,
    withheld: content.withheld,
    notFound: content.notFound,
    ...(notSearched.length === 0 ? {} : { notSearched }),
  };
  if (content.disclosed.length === 0) {
    const reason = content.withheld.length === 0 ? 'no_data' : 'legal_requirements_not_met';
    return { state: 'rejected', reason, written: undefined, summary };
  }
  const written = await writeDisclosurePackage(
    content.files,
    manifestFields(request, now, summary),
    sources.signer(),
    packagePath(sources.packageDirectory, request.id),
  );
  return {
    state: content.withheld.length === 0 ? 'fulfilled' : 'partially_fulfilled',
    reason: null,
    written,
    summary: { ...summary, package: packageSummary(written) },
  };
}

function manifestFields(request: LegalRequest, now: Date, content: Readonly<Record<string, unknown>>) {
  return {
    format: 'glasshouse-disclosure/v1',
    request: request.id,
    reference: request.reference,
    authority: request.authority,
    requesterCountry: request.requesterCountry,
    category: request.category,
    jurisdictions: request.verification?.jurisdictions ?? [],
    scope: { from: request.scope.from, to: request.scope.to },
    createdAt: now.toISOString(),
    ...content,
  };
}

function packageSummary(written: WrittenPackage) {
  return { sha256: written.sha256, bytes: written.bytes, files: written.files };
}

export { ANNEX_A, type AnnexAControl } from './annex-a.js';
export { EvidenceError, type EvidenceErrorCode } from './evidence-errors.js';
export { EVIDENCE_FORMAT, type EvidenceIndex, type EvidencePack, type PackFile } from './evidence-pack.js';
export { type EvidencePeriod, parseEvidencePeriod } from './evidence-period.js';
export { EvidenceService, type EvidenceServiceOptions, writePackTo, zipPack } from './evidence-service.js';

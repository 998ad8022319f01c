import type {
  RelocatableSample,
  RelocatableSubmission,
  SampleScan,
} from '../../ports/installation-records.js';

export type { RelocatableSample, RelocatableSubmission };

/** An installation's submissions at one site and the samples they reference. */
export interface InstallationSubmissions {
  readonly submissions: readonly RelocatableSubmission[];
  readonly samples: readonly RelocatableSample[];
}

/** What removing installations' submissions took away. */
export interface RemovedSubmissions {
  readonly submissions: number;
  /** The samples no remaining submission referenced, removed with them. */
  readonly samples: { sha256: string; size: number }[];
}

/** The vault's half of a residency scan: submissions per installation, and the samples' state. */
export interface VaultResidencyScan {
  readonly submissionsByInstallation: ReadonlyMap<string, number>;
  readonly samples: SampleScan;
}

/** A sample as a site describes it, without its bytes. */
export interface RelocatableSample {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly sha512: string;
  readonly size: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

/**
 * A submission in transit between two sites: the file name is in clear only between the
 * source's unsealing and the target's sealing under its own key for the installation.
 */
export interface RelocatableSubmission {
  readonly sha256: string;
  readonly submittedAt: string;
  readonly product: string;
  readonly filename: string;
}

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
  readonly samples: {
    readonly referenced: number;
    /** Referenced by a submission but without a row or a blob. */
    readonly missing: readonly string[];
    /** Present but failing to decrypt, or decrypting to other bytes than its hash. */
    readonly corrupt: readonly string[];
    /** Samples no submission here references (left by an interrupted copy). */
    readonly unreferenced: number;
  };
}

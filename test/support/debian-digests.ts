interface FuzzyDigests {
  readonly tlsh: string;
  readonly ssdeep: string;
}

/**
 * Fuzzy digests of three Debian binaries, as Debian's `tlsh` and `ssdeep` print them:
 * /usr/bin/true and /usr/bin/false are near (TLSH distance 11, ssdeep score 80), tail is far
 * from both.
 */
export const DEBIAN_TRUE: FuzzyDigests = {
  tlsh: 'T1D1F22C0BB192967CD4A6C230829B8571B9B07C412B675E7B3748F33D1F52F146B1BA32',
  ssdeep: '768:HxJTFBaZtz/yGuwcgiY77C0SiqboQSVTMm:HxJTFkZtzwwLi8C2TMm',
};

export const DEBIAN_FALSE: FuzzyDigests = {
  tlsh: 'T1B7F22B0AB192967CC4E68230829B8531B9707C412B675E7B7748F37D2F52F146B1BA32',
  ssdeep: '768:HxWT8daZtz/yGuwcgiYQ7CmSiqboQlVTxm:HxWT8YZtzwwLi1C9Txm',
};

export const DEBIAN_TAIL: FuzzyDigests = {
  tlsh: 'T11D733C07769244BCC457D33085ABD562AE707CA812226E7E398CB7392F56F346E1FB21',
  ssdeep: '1536:870AQv1ZOSCyP4clXt+cZDQZ4HicaJeCtBMlQm:dZOSCyw+9+pEasCfMl',
};

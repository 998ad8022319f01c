/**
 * The ISO/IEC 27001:2022 Annex A controls the pack gives evidence of, by their number and
 * title in the standard (the titles are those of ISO/IEC 27002:2022).
 */
export const ANNEX_A = {
  'A.5.3': 'Segregation of duties',
  'A.5.15': 'Access control',
  'A.5.18': 'Access rights',
  'A.5.31': 'Legal, statutory, regulatory and contractual requirements',
  'A.5.34': 'Privacy and protection of personal identifiable information (PII)',
  'A.8.13': 'Information backup',
  'A.8.15': 'Logging',
  'A.8.24': 'Use of cryptography',
} as const;

export type AnnexAControl = keyof typeof ANNEX_A;

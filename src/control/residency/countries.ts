import countries from 'i18n-iso-countries';

/**
 * The ISO 3166-1 alpha-2 codes as shipped by `i18n-iso-countries`. The list includes `XK`
 * (Kosovo), a user-assigned code that the EU and most registries use, because an
 * installation in Kosovo has to be registrable; it excludes the exceptionally reserved
 * codes (`UK`, `EU`) so that a typo for `GB` or a region name is never taken for a country.
 */
export const ALL_COUNTRY_CODES: ReadonlySet<string> = new Set(Object.keys(countries.getAlpha2Codes()));

const ALPHA2 = /^[A-Z]{2}$/;

/**
 * Whether `code` is an assigned ISO 3166-1 alpha-2 code, spelled exactly (upper case).
 * Lower case is refused rather than normalised: residency decisions are keyed by the code,
 * and two spellings of one country would split its history.
 *
 * @example
 * isCountryCode('CH'); // true
 * isCountryCode('ch'); // false
 * isCountryCode('UK'); // false, the code is GB
 */
export function isCountryCode(code: string): boolean {
  return ALPHA2.test(code) && ALL_COUNTRY_CODES.has(code);
}

/**
 * The English short name of a country, or `undefined` for anything `isCountryCode` refuses.
 *
 * @example
 * countryName('CH'); // 'Switzerland'
 */
export function countryName(code: string): string | undefined {
  return isCountryCode(code) ? countries.getName(code, 'en') : undefined;
}

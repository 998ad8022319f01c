import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HttpSiteClient } from '../adapters/site-http/http-site-client.js';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config-errors.js';
import { CONTROL_NODE, keysDirectory } from '../config/data-dir.js';
import { type Glasshouse, type OpenOptions, openGlasshouse, openRemoteControlPlane } from '../main.js';
import { controlBundleDirectory, readControlBundle } from '../pki/deployment-pki.js';
import { UsageError } from './failure.js';

/**
 * The bounded time of a call to a site that is away: connecting, waiting for an answer and
 * retrying a read all fit in it, so a request that needs the site answers 503
 * `SITE_UNAVAILABLE` within about this long (a refused connection at once). Calls that compact
 * or scan a whole store may work longer before they answer (`slowCallTimeoutMs`).
 */
export const SITE_CALL_TIMEOUT_MS = 10_000;

/**
 * Parses `--site NAME=URL` options into overrides of the config's `sites.<name>.url`.
 *
 * @example
 * siteUrlOverrides(['zurich=https://10.0.0.5:8443']) // Map { 'zurich' => 'https://10.0.0.5:8443' }
 */
export function siteUrlOverrides(given: readonly string[]): ReadonlyMap<string, string> {
  const urls = new Map<string, string>();
  for (const entry of given) {
    const match = /^([a-z][a-z0-9-]{0,31})=(https:\/\/[^\s/?#]+\/?)$/.exec(entry);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new UsageError(`--site ${entry}: expected NAME=https://host:port`);
    }
    urls.set(match[1], match[2]);
  }
  return urls;
}

/**
 * A client for every configured site, over mutual TLS with the control plane's bundle
 * (`<data>/pki/control/`). Each site needs a URL (`--site` wins over `sites.<name>.url`); a
 * site without one, or a `--site` naming no configured site, stops the start.
 */
export function remoteSiteClients(
  config: Config,
  overrides: ReadonlyMap<string, string> = new Map(),
): ReadonlyMap<string, HttpSiteClient> {
  const known = new Set(config.sites.map((s) => s.name));
  for (const name of overrides.keys()) {
    if (!known.has(name)) {
      throw new UsageError(
        `--site ${name}: no such site in ${config.configFile} (sites: ${[...known].join(', ')})`,
      );
    }
  }
  const missing = config.sites.filter((s) => !overrides.has(s.name) && s.url === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      'INVALID_CONFIG',
      `${config.configFile}: ${missing.map((s) => `sites.${s.name}.url`).join(', ')}: required to run the control plane alone (or give --site ${missing[0]?.name}=https://host:port)`,
      { details: { key: `sites.${missing[0]?.name}.url` } },
    );
  }
  const tls = readControlBundle(config.dataDir);
  return new Map(
    config.sites.map((site) => [
      site.name,
      new HttpSiteClient({
        name: site.name,
        jurisdiction: site.jurisdiction,
        url: (overrides.get(site.name) ?? site.url) as string,
        tls,
        timeoutMs: SITE_CALL_TIMEOUT_MS,
      }),
    ]),
  );
}

/**
 * Whether the data directory is a control plane's alone (`glasshouse control`): it holds the
 * control bundle and no `sites/`. One-shot commands then reach the sites as `control` does.
 */
export function isControlOnlyDataDir(dataDir: string): boolean {
  return existsSync(controlBundleDirectory(dataDir)) && !existsSync(join(dataDir, 'sites'));
}

/**
 * Whether the data directory is a site's own (`glasshouse site`): site keys, and no control
 * key (which every other kind of data directory has from its first start).
 */
export function isSiteDataDir(dataDir: string): boolean {
  const keys = keysDirectory(dataDir);
  return existsSync(keys) && !existsSync(join(keys, `${CONTROL_NODE}.ed25519.pem`));
}

/**
 * Opens the data directory as what it is: all-in-one (`up`) or a control plane alone. A
 * site's own data directory holds no control plane to open: that is a usage error.
 */
export function openDeployment(config: Config, options: OpenOptions = {}): Promise<Glasshouse> {
  if (isSiteDataDir(config.dataDir)) {
    throw new UsageError(
      `${config.dataDir} is a site's data directory (glasshouse site); give the control plane's with --data`,
    );
  }
  return isControlOnlyDataDir(config.dataDir)
    ? openRemoteControlPlane(config, remoteSiteClients(config), options)
    : openGlasshouse(config, options);
}

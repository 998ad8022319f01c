import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { HttpPeerSites } from '../adapters/site-http/peer-sites.js';
import type { Config, SiteConfig } from '../config/config.js';
import { ConfigError } from '../config/config-errors.js';
import { initSiteDataDir } from '../config/data-dir.js';
import { loadConfig, resolvePaths } from '../config/load.js';
import { readBundle } from '../pki/bundle.js';
import { peerIdentity, type TlsMaterial } from '../pki/certificates.js';
import { PkiError } from '../pki/pki-errors.js';
import { startSiteApi } from '../site/api/site-api-server.js';
import { openSiteService } from '../site-main.js';
import { type DataDirOptions, overridesOf } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action } from './output.js';
import { SITE_CALL_TIMEOUT_MS } from './remote-sites.js';
import { parsePort } from './up-command.js';

interface SiteOptions extends DataDirOptions {
  readonly name: string;
  readonly tls: string;
  readonly host: string;
  readonly port: number;
}

/** The port a site's internal API listens on unless told. */
export const DEFAULT_SITE_PORT = 8443;

export function registerSite(program: Command): void {
  program
    .command('site')
    .description(
      'run one site as its own service: its vault, statistics, installation keys and log in --data, served to the control plane over mutual TLS',
    )
    .requiredOption('--data <dir>', "the site's own data directory (created, owner-only, on first start)")
    .option(
      '--config <file>',
      "the deployment's configuration, as the control plane's (default: <data>/config.yaml)",
    )
    .requiredOption(
      '--name <name>',
      "the site's name; its jurisdiction comes from sites.<name> in the config",
    )
    .requiredOption(
      '--tls <dir>',
      'the TLS bundle `glasshouse pki issue --site <name>` wrote (ca.pem, cert.pem, key.pem)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on, 0 for any free port', parsePort, DEFAULT_SITE_PORT)
    .action(action((options: SiteOptions) => runSite(options)));
}

async function runSite(options: SiteOptions): Promise<void> {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(options.name)) {
    throw new UsageError(
      `--name ${options.name}: lower-case letters, digits and '-', starting with a letter`,
    );
  }
  const { configFile } = resolvePaths(overridesOf(options));
  if (!existsSync(configFile)) {
    throw new ConfigError(
      'CONFIG_NOT_FOUND',
      `cannot read config file ${configFile}; give the deployment's config (a copy of the control plane's config.yaml) with --config`,
    );
  }
  const config = loadConfig({ ...overridesOf(options), logLevel: 'silent' });
  const site = siteIn(config, options.name);
  const tls = siteBundle(options.tls, site.name, config.deployment);
  const created = initSiteDataDir(config.dataDir, site.name);
  if (created.length > 0) {
    process.stderr.write(
      `created the keys of site ${site.name} in ${config.dataDir}/keys: ${created.join(', ')}\n`,
    );
  }
  const report = (error: unknown, context: string) =>
    process.stderr.write(
      `site ${site.name}: ${context}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  const service = await openSiteService(config, site, {
    publish: true,
    onBackgroundError: report,
    onBackgroundProgress: (message) => process.stderr.write(`${message}\n`),
  });
  // Relocation copies site to site: this site reads from its peers with its own certificate.
  const peers = new HttpPeerSites({ tls, timeoutMs: SITE_CALL_TIMEOUT_MS });
  let server: Awaited<ReturnType<typeof startSiteApi>>;
  try {
    await service.site.vault.recover();
    service.site.backfill.start();
    // The similarity index loads in the background; a query meanwhile waits for it.
    service.site.similar.load().catch((error: unknown) => report(error, 'loading the similarity index'));
    server = await startSiteApi({
      site: service.site,
      log: service.log,
      tls,
      host: options.host,
      port: options.port,
      onError: (error: unknown) => report(error, 'serving a request'),
      peers,
    });
  } catch (error) {
    peers.close();
    await service.close();
    throw error;
  }
  const shutdown = async () => {
    await server.close();
    peers.close();
    await service.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  // The first line of stdout, for whoever started the site on port 0.
  process.stdout.write(`listening on ${server.url}\n`);
  process.stderr.write(
    `site ${site.name} (${site.jurisdiction}) of deployment ${config.deployment} serves the control plane at ${server.url}\n`,
  );
}

/** The site's own entry in the deployment's configuration (its jurisdiction). */
function siteIn(config: Config, name: string): SiteConfig {
  const site = config.sites.find((s) => s.name === name);
  if (site === undefined) {
    throw new ConfigError(
      'INVALID_CONFIG',
      `${config.configFile}: sites.${name}: no such site (sites: ${config.sites.map((s) => s.name).join(', ')})`,
      { details: { key: `sites.${name}` } },
    );
  }
  return site;
}

/**
 * The bundle, checked to speak for this site of this deployment: a certificate issued for
 * another site, or by another deployment's CA, is refused before anything opens.
 */
function siteBundle(dir: string, name: string, deployment: string): TlsMaterial {
  const tls = readBundle(dir);
  const identity = peerIdentity(tls.cert);
  if (identity?.role !== 'site' || identity.name !== name) {
    const holder = identity === undefined ? 'no peer' : `${identity.role} ${identity.name}`;
    throw new PkiError('INVALID_SUBJECT', `${dir}/cert.pem speaks for ${holder}, not for site ${name}`);
  }
  if (!new X509Certificate(tls.cert).subject.split('\n').includes(`O=${deployment}`)) {
    throw new PkiError('INVALID_SUBJECT', `${dir}/cert.pem was not issued for deployment ${deployment}`);
  }
  return tls;
}

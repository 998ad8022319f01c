import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { initDataDir } from '../config/data-dir.js';
import { loadConfig, resolvePaths } from '../config/load.js';
import { openRemoteControlPlane } from '../main.js';
import { type DataDirOptions, overridesOf, withDataDirOptions } from './data-dir-options.js';
import { adminTokenLines } from './init-command.js';
import { action } from './output.js';
import { remoteSiteClients, siteUrlOverrides } from './remote-sites.js';
import { servePublicApi } from './serve.js';
import { parsePort } from './up-command.js';

interface ControlOptions extends DataDirOptions {
  readonly host?: string;
  readonly port?: number;
  readonly logLevel?: string;
  readonly site?: string[];
}

export function registerControl(program: Command): void {
  withDataDirOptions(program.command('control'))
    .description(
      'run the control plane alone (the public API, as `up` serves it), reaching every site over mutual TLS with <data>/pki/control/',
    )
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free port (default: 8080)', parsePort)
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace or silent')
    .option(
      '--site <name=url>',
      "where a site's API is, e.g. zurich=https://10.0.0.5:8443 (repeatable; wins over sites.<name>.url in the config)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .action(action((options: ControlOptions) => runControl(options)));
}

async function runControl(options: ControlOptions): Promise<void> {
  const overrides = siteUrlOverrides(options.site ?? []);
  // The control plane's data directory: its config, its own log key, no site keys.
  const init = initDataDir({ ...resolvePaths(overridesOf(options)), controlOnly: true });
  const config = loadConfig({
    ...overridesOf(options),
    host: options.host,
    port: options.port,
    logLevel: options.logLevel,
  });
  let app: FastifyInstance | undefined;
  const glasshouse = await openRemoteControlPlane(config, remoteSiteClients(config, overrides), {
    publish: true,
    onBackgroundError: (error, context) => app?.log.error({ err: error }, context),
  });
  try {
    if ((await glasshouse.tokens.list()).length === 0) {
      const admin = await glasshouse.tokens.create(
        { role: 'admin', label: 'initial admin' },
        { role: 'admin', token: 'init' },
      );
      const created = init.created ? `initialized ${config.dataDir} (deployment ${init.deployment})\n` : '';
      process.stderr.write(`${created}${adminTokenLines(admin.token).join('\n')}\n`);
    }
    await glasshouse.recover();
  } catch (error) {
    await glasshouse.close();
    throw error;
  }
  const { app: server, address } = await servePublicApi(glasshouse, config, (built) => {
    app = built;
  });
  process.stdout.write(`listening on ${address}\n`);
  server.log.info(
    { address, dataDir: config.dataDir, sites: Object.fromEntries(config.sites.map((s) => [s.name, s.url])) },
    'the control plane is up',
  );
}

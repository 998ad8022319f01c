import { type Command, InvalidArgumentError } from 'commander';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load.js';
import { loadExampleData } from '../control/reports/example-data.js';
import { exampleDesksOf } from '../control/reports/example-desks.js';
import { parsePeriod } from '../control/reports/period.js';
import { type Glasshouse, type OpenOptions, openGlasshouse } from '../main.js';
import { overridesOf, withDataDirOptions } from './data-dir-options.js';
import { adminTokenLines, DEPLOYMENT_OPTION, type InitOptions, initialize } from './init-command.js';
import { action } from './output.js';
import { servePublicApi } from './serve.js';

interface UpOptions extends InitOptions {
  readonly host?: string;
  readonly port?: number;
  readonly logLevel?: string;
  readonly example?: boolean;
}

/** What a test launcher may add to the server it starts (never set by `glasshouse up` itself). */
export type UpHooks = Pick<OpenOptions, 'afterPrivacyStep'>;

export function registerUp(program: Command, hooks: UpHooks = {}): void {
  withDataDirOptions(program.command('up'))
    .description('run the control plane and every configured site in one process (embedded storage)')
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free port (default: 8080)', parsePort)
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace or silent')
    .option(...DEPLOYMENT_OPTION)
    .option('--example', 'load the example legal and privacy requests (examples/) into an empty deployment')
    .action(action((options: UpOptions) => up(options, hooks)));
}

async function up(options: UpOptions, hooks: UpHooks): Promise<void> {
  const first = await initialize(options);
  if (first.adminToken !== undefined) {
    process.stderr.write(
      `${[
        `initialized ${first.dataDir} (deployment ${first.deployment})`,
        ...adminTokenLines(first.adminToken),
        ...(options.example === true
          ? []
          : ['To see a real transparency report at once: npm start -- --example', '']),
      ].join('\n')}\n`,
    );
  }
  const config = loadConfig({
    ...overridesOf(options),
    host: options.host,
    port: options.port,
    logLevel: options.logLevel,
  });
  let app: FastifyInstance | undefined;
  const glasshouse = await openGlasshouse(config, {
    ...hooks,
    publish: true,
    onBackgroundError: (error, context) => app?.log.error({ err: error }, context),
    onBackgroundProgress: (message) =>
      app === undefined ? process.stderr.write(`${message}\n`) : app.log.info(message),
  });
  await glasshouse.recover();
  const example = options.example === true ? await loadExample(glasshouse) : false;
  const { app: server, address } = await servePublicApi(glasshouse, config, (built) => {
    app = built;
  });
  server.log.info(
    { address, dataDir: config.dataDir, sites: [...glasshouse.siteClients.keys()] },
    'glasshouse is up',
  );
  // The public pages need no token: point at them, not at the token-only /v1 route.
  process.stderr.write(
    example
      ? `the example's transparency report, public (no token): ${address}/reports/${EXAMPLE_PERIOD}/\n`
      : `public transparency reports (no token): ${address}/reports/ (publish a period: glasshouse report publish 2021-H2)\n`,
  );
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('expected a port number');
  return port;
}

/** The period whose report the example's hint opens. */
const EXAMPLE_PERIOD = '2021-H2';
/** The example's periods: published with it, so that its reports are public at once. */
const EXAMPLE_PERIODS = ['2020-H1', '2020-H2', '2020', '2021-H1', '2021-H2', '2021'];

/**
 * The example requests, once (a deployment whose log already holds requests is left
 * alone), and its periods published. True when the example's reports are public.
 */
async function loadExample(glasshouse: Glasshouse): Promise<boolean> {
  const control = glasshouse.logs.get('control')!;
  const loaded = await loadExampleData({ log: control, desks: exampleDesksOf(glasshouse) });
  if (loaded.loaded) {
    for (const period of EXAMPLE_PERIODS) {
      await glasshouse.reportPublications.publish(parsePeriod(period), { role: 'admin', token: 'example' });
    }
  }
  await control.publish();
  process.stderr.write(
    loaded.loaded
      ? `loaded the example: ${loaded.legal} legal and ${loaded.privacy} privacy requests; published the reports of ${EXAMPLE_PERIODS.join(', ')}\n`
      : 'the log already holds legal or privacy requests: the example was not loaded\n',
  );
  return (await glasshouse.reportPublications.isPublished(parsePeriod(EXAMPLE_PERIOD))) === true;
}

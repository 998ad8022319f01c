import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { initDataDir } from '../config/data-dir.js';
import { resolvePaths } from '../config/load.js';
import { DEFAULT_HOSTS } from '../pki/certificates.js';
import { initPki, issueBundle } from '../pki/deployment-pki.js';
import { overridesOf, withDataDirOptions } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { DEPLOYMENT_OPTION, type InitOptions } from './init-command.js';
import { collect } from './option-values.js';
import { action, printResult } from './output.js';

type JsonOption = { json?: boolean };
type IssueOptions = InitOptions & JsonOption & { site: string; host?: string[]; out: string };

export function registerPki(program: Command): void {
  const pki = program
    .command('pki')
    .description(
      "the deployment's own certificate authority, for mutual TLS between the control plane and its sites",
    );

  withDataDirOptions(pki.command('init'))
    .description(
      "create the deployment's CA (<data>/pki/ca.pem, ca-key.pem) and the control plane's TLS bundle (<data>/pki/control/); never replaces a CA",
    )
    .option(...DEPLOYMENT_OPTION)
    .option('--json', 'print JSON')
    .action(
      action(async (options: InitOptions & JsonOption) => {
        const paths = resolvePaths(overridesOf(options));
        const deployment = deploymentFor(paths, options.deployment);
        const result = await initPki(paths.dataDir, deployment, new Date());
        printResult(options.json === true, { dataDir: paths.dataDir, ...result }, () =>
          [
            `created the certificate authority of deployment ${result.deployment} in ${paths.dataDir}`,
            ...result.written.map((file) => `  ${file}`),
            'keep pki/ca-key.pem secret: whoever holds it can issue certificates for any site',
          ].join('\n'),
        );
      }),
    );

  withDataDirOptions(pki.command('issue'))
    .description("issue a site's TLS bundle (ca.pem, cert.pem, key.pem) signed by the deployment's CA")
    .requiredOption('--site <name>', 'the site the certificate speaks for (its name in the config)')
    .option(
      '--host <host>',
      'a DNS name or IP address the site is reached at (repeatable; default: 127.0.0.1 and localhost)',
      collect,
    )
    .requiredOption('--out <dir>', 'the bundle folder to create (must not exist, or be empty)')
    .option('--json', 'print JSON')
    .action(
      action(async (options: IssueOptions) => {
        const { dataDir } = resolvePaths(overridesOf(options));
        const out = resolve(options.out);
        const given = options.host ?? [];
        await issueBundle(dataDir, { role: 'site', name: options.site, hosts: given }, out, new Date());
        const hosts = given.length === 0 ? DEFAULT_HOSTS : given;
        printResult(options.json === true, { site: options.site, hosts, out }, () =>
          [
            `issued the certificate of site ${options.site} (hosts ${hosts.join(', ')})`,
            `  ${out}/ca.pem`,
            `  ${out}/cert.pem`,
            `  ${out}/key.pem (secret)`,
            `carry the folder to the site's machine: glasshouse site --name ${options.site} --tls <folder> ...`,
          ].join('\n'),
        );
      }),
    );
}

/**
 * The deployment the CA is for: the data directory's own (its config), or, for a new data
 * directory, `--deployment` (created control-only, as `glasshouse control` would).
 */
function deploymentFor(paths: { dataDir: string; configFile: string }, given: string | undefined): string {
  if (existsSync(paths.configFile)) {
    const raw = parseYaml(readFileSync(paths.configFile, 'utf8')) as { deployment?: unknown } | null;
    const existing = typeof raw?.deployment === 'string' ? raw.deployment : undefined;
    if (existing === undefined) throw new UsageError(`${paths.configFile} names no deployment`);
    if (given !== undefined && given !== existing) {
      throw new UsageError(`--deployment ${given}: ${paths.configFile} is deployment ${existing}`);
    }
    return existing;
  }
  return initDataDir({ ...paths, controlOnly: true, ...(given === undefined ? {} : { deployment: given }) })
    .deployment;
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runCli, runCliAsync } from './cli.js';
import { type CliProcess, killAllCliProcesses, startCliProcess } from './cli-process.js';

export const SPLIT_SITES = ['zurich', 'moscow'] as const;
export type SplitSite = (typeof SPLIT_SITES)[number];

/**
 * A control plane and two sites as separate `glasshouse` processes on 127.0.0.1, each in a
 * data directory of its own with a certificate of its own (`pki init`, `pki issue`), the way
 * docs/deployment.md sets them up.
 */
export interface SplitDeployment {
  readonly scratch: string;
  readonly controlDir: string;
  readonly configFile: string;
  siteDir(site: string): string;
  site(site: string): CliProcess;
  readonly control: CliProcess;
  /** Runs a one-shot CLI command and answers its stdout; throws on a non-zero exit. */
  cli(args: readonly string[]): Promise<string>;
  /** Starts a site again, on the port it had, with the same data directory and bundle. */
  restartSite(site: string): Promise<CliProcess>;
  /** Kills every process and removes the scratch directory. */
  close(): Promise<void>;
}

export interface SplitDeploymentOptions {
  readonly deployment?: string;
  /** Called with the control plane's config (parsed YAML) before anything starts. */
  readonly configure?: (config: Record<string, unknown>) => void;
  /** Runs before the control plane starts (one-shot commands against its data directory). */
  readonly beforeControl?: (controlDir: string) => Promise<void>;
  readonly controlLogLevel?: string;
}

export function cliOrThrow(args: readonly string[]): string {
  const result = runCli(args);
  if (result.status !== 0) throw new Error(`glasshouse ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** {@link cliOrThrow} without blocking: several commands can run at once (each takes seconds to start). */
export async function cliAsyncOrThrow(args: readonly string[]): Promise<string> {
  const result = await runCliAsync(args);
  if (result.status !== 0) throw new Error(`glasshouse ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

export async function startSplitDeployment(options: SplitDeploymentOptions = {}): Promise<SplitDeployment> {
  const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-split-'));
  const controlDir = join(scratch, 'control');
  const configFile = join(controlDir, 'config.yaml');
  const siteDir = (site: string) => join(scratch, `${site}-data`);
  const bundle = (site: string) => join(scratch, `${site}-tls`);
  const sites = new Map<string, CliProcess>();
  const siteArgs = (site: string, port: string) => [
    'site',
    '--name',
    site,
    '--data',
    siteDir(site),
    '--tls',
    bundle(site),
    '--config',
    configFile,
    '--host',
    '127.0.0.1',
    '--port',
    port,
  ];
  try {
    cliOrThrow(['pki', 'init', '--data', controlDir, '--deployment', options.deployment ?? 'split-test']);
    if (options.configure !== undefined) {
      const config = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      options.configure(config);
      writeFileSync(configFile, stringifyYaml(config));
    }
    await Promise.all(
      SPLIT_SITES.map(async (site) => {
        await cliAsyncOrThrow(['pki', 'issue', '--data', controlDir, '--site', site, '--out', bundle(site)]);
        sites.set(site, await startCliProcess(siteArgs(site, '0')));
      }),
    );
    // The control plane finds its sites in its config (`sites.<name>.url`).
    const config = parseYaml(readFileSync(configFile, 'utf8')) as { sites: Record<string, { url?: string }> };
    for (const site of SPLIT_SITES) config.sites[site]!.url = sites.get(site)!.url;
    writeFileSync(configFile, stringifyYaml(config));
    await options.beforeControl?.(controlDir);
    const control = await startCliProcess([
      'control',
      '--data',
      controlDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      options.controlLogLevel ?? 'warn',
    ]);
    return {
      scratch,
      controlDir,
      configFile,
      siteDir,
      site: (site) => sites.get(site)!,
      control,
      cli: cliAsyncOrThrow,
      restartSite: async (site) => {
        const port = new URL(sites.get(site)!.url).port;
        const restarted = await startCliProcess(siteArgs(site, port));
        sites.set(site, restarted);
        return restarted;
      },
      close: async () => {
        await killAllCliProcesses();
        rmSync(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await killAllCliProcesses();
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}

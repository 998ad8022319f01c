import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { tempDir } from './cleanup.js';
import {
  type CreatedToken,
  createToken,
  type DataDirSettings,
  glasshouseCli,
  ServerProcess,
  tuneConfig,
} from './server.js';

/** The example configuration's two sites. */
export const SPLIT_SITES = ['zurich', 'moscow'] as const;
export type SplitSiteName = (typeof SPLIT_SITES)[number];

export interface SplitOptions {
  readonly settings?: DataDirSettings;
  /** Roles to create a token for, in the control plane's data directory. */
  readonly tokens?: readonly string[];
  /** Extra flags for `node` in every process (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

/**
 * The separate-services topology on loopback (docs/deployment.md): the deployment's CA in
 * the control plane's data directory, one bundle per site, `glasshouse site` for each of
 * the example's two sites in a data directory of its own, and `glasshouse control` reaching
 * them over mutual TLS. Every process is a child of the benchmark, spawned from the compiled
 * CLI, so its pid's /proc figures are its own.
 *
 * @example
 * const split = await SplitDeployment.start({ tokens: ['product'] });
 * const client = new HttpClient({ baseUrl: split.control.baseUrl, token: split.tokens.product!.token });
 */
export class SplitDeployment {
  readonly #scratch: { readonly remove: () => Promise<void> };

  private constructor(
    readonly control: ServerProcess,
    readonly sites: ReadonlyMap<SplitSiteName, ServerProcess>,
    readonly tokens: Readonly<Record<string, CreatedToken>>,
    readonly controlDir: string,
    scratch: { readonly remove: () => Promise<void> },
  ) {
    this.#scratch = scratch;
  }

  static async start(options: SplitOptions = {}): Promise<SplitDeployment> {
    const scratch = tempDir('glasshouse-bench-split');
    const controlDir = join(scratch.path, 'control');
    const configFile = join(controlDir, 'config.yaml');
    const sites = new Map<SplitSiteName, ServerProcess>();
    const nodeArgs = options.nodeArgs ?? [];
    try {
      await glasshouseCli(['pki', 'init', '--data', controlDir, '--deployment', 'bench', '--json']);
      tuneConfig(configFile, options.settings);
      for (const name of SPLIT_SITES) {
        const bundle = join(scratch.path, `${name}-tls`);
        await glasshouseCli([
          'pki',
          'issue',
          '--data',
          controlDir,
          '--site',
          name,
          '--out',
          bundle,
          '--json',
        ]);
        const site = await ServerProcess.startListening(
          [
            'site',
            '--name',
            name,
            '--data',
            join(scratch.path, `${name}-data`),
            '--tls',
            bundle,
            '--config',
            configFile,
            '--host',
            '127.0.0.1',
            '--port',
            '0',
          ],
          { nodeArgs },
        );
        sites.set(name, site);
      }
      // The control plane (and every one-shot command on its data directory) finds its sites
      // in the config (`sites.<name>.url`).
      const document = parseDocument(readFileSync(configFile, 'utf8'));
      for (const [name, site] of sites) document.setIn(['sites', name, 'url'], site.baseUrl);
      writeFileSync(configFile, document.toString());
      const tokens: Record<string, CreatedToken> = {};
      for (const role of options.tokens ?? []) tokens[role] = await createToken(controlDir, role);
      const control = await ServerProcess.startListening(
        ['control', '--data', controlDir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'],
        { nodeArgs },
      );
      return new SplitDeployment(control, sites, tokens, controlDir, scratch);
    } catch (error) {
      for (const site of sites.values()) await site.stop();
      await scratch.remove();
      throw error;
    }
  }

  site(name: string): ServerProcess {
    const site = this.sites.get(name as SplitSiteName);
    if (site === undefined) throw new Error(`no site ${name}`);
    return site;
  }

  /** Every process still runs; otherwise an error with the output of the one that stopped. */
  checkRunning(): void {
    for (const [name, process] of [['control', this.control] as const, ...this.sites]) {
      if (!process.running) throw new Error(`${name} exited:\n${process.output}`);
    }
  }

  /** The tails of every process's output, for a failure message. */
  get output(): string {
    return [['control', this.control] as const, ...this.sites]
      .map(([name, process]) => `--- ${name}:\n${process.output}`)
      .join('\n');
  }

  /** The control plane first (it holds connections to the sites), then the sites, then the files. */
  async stop(): Promise<void> {
    await this.control.stop();
    for (const site of this.sites.values()) await site.stop();
    await this.#scratch.remove();
  }
}

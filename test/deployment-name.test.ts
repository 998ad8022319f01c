import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from './support/cli.js';

/*
 * Each deployment's logs have an origin of their own (issue 18): `init` names the deployment
 * (random unless told), and a data directory keeps its name.
 */

const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-deployment-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const deploymentOf = (dataDir: string) =>
  (parseYaml(readFileSync(join(dataDir, 'config.yaml'), 'utf8')) as { deployment: string }).deployment;
const keyOf = (dataDir: string) => runCli(['ledger', 'key', '--data', dataDir]).stdout.trim();

describe('glasshouse init', () => {
  describe('when two data directories are created', () => {
    it('gives each a deployment name of its own, and so log origins of their own', () => {
      const [a, b] = [join(scratch, 'a'), join(scratch, 'b')];
      for (const dir of [a, b]) expect(runCli(['init', '--data', dir]).status).toBe(0);
      expect(deploymentOf(a)).toMatch(/^glasshouse-[0-9a-f]{8}$/);
      expect(deploymentOf(a)).not.toBe(deploymentOf(b));
      expect(keyOf(a)).toMatch(new RegExp(`^${deploymentOf(a)}/control\\+[0-9a-f]{8}\\+`));
      expect(keyOf(b).startsWith(`${deploymentOf(b)}/control+`)).toBe(true);
    });
  });

  describe('when given --deployment', () => {
    it('uses the name; an existing data directory keeps its own', () => {
      const dir = join(scratch, 'named');
      const run = runCli(['init', '--data', dir, '--deployment', 'acme-eu', '--json']);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).deployment).toBe('acme-eu');
      expect(keyOf(dir).startsWith('acme-eu/control+')).toBe(true);
      const again = runCli(['init', '--data', dir, '--deployment', 'other']);
      expect(again.status, again.stderr).toBe(0);
      expect(deploymentOf(dir)).toBe('acme-eu');
    });

    it('refuses a name that cannot be an origin, and creates nothing', () => {
      const dir = join(scratch, 'bad');
      const run = runCli(['init', '--data', dir, '--deployment', 'a b/c']);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('deployment name');
      expect(existsSync(dir)).toBe(false);
    });
  });
});

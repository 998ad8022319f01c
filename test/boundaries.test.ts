import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.js';

/**
 * The lint rule that keeps the control plane and the sites apart (biome.json, overrides):
 * each case lints a one-file tree under the project's own configuration, so the rule is
 * shown to refuse the import, not merely to be configured.
 */
const BIOME = join(REPO_ROOT, 'node_modules', '.bin', 'biome');
const roots: string[] = [];

function lint(file: string, source: string): { ok: boolean; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'glasshouse-boundaries-'));
  roots.push(root);
  copyFileSync(join(REPO_ROOT, 'biome.json'), join(root, 'biome.json'));
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), source);
  const run = spawnSync(BIOME, ['lint', '--max-diagnostics=5', file], { cwd: root, encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('the import boundaries', () => {
  it('refuse control-plane code that imports site code', () => {
    const result = lint(
      'src/control/legal/probe.ts',
      "import { VaultService } from '../../site/vault/vault-service.js';\n\nexport const probe = VaultService;\n",
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain('noRestrictedImports');
  });

  it('refuse site code that imports control-plane code', () => {
    const result = lint(
      'src/site/vault/probe.ts',
      "import { PolicyService } from '../../control/residency/policy-service.js';\n\nexport const probe = PolicyService;\n",
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain('noRestrictedImports');
  });

  it('refuse a port that imports anything of ours outside the ports', () => {
    const result = lint(
      'src/ports/probe.ts',
      "import type { GlasshouseError } from '../shared/errors.js';\n\nexport type Probe = GlasshouseError;\n",
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain('noRestrictedImports');
  });

  it('let both sides import the ports and the shared vocabulary', () => {
    const source =
      "import type { SiteClient } from '../../ports/site-client.js';\nimport { parseSampleHash } from '../../shared/sample-hash.js';\n\nexport type Probe = SiteClient;\nexport const parse = parseSampleHash;\n";
    expect(lint('src/control/legal/probe.ts', source)).toMatchObject({ ok: true });
    expect(lint('src/site/vault/probe.ts', source)).toMatchObject({ ok: true });
  });
});

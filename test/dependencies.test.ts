import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.js';

/** The oldest Node this project runs on: `engines` in package.json says so. */
const OLDEST_NODE = '20.19.0';

/**
 * Packages whose `engines` ask for Node 22 though they run on 20.19: they are ES modules that
 * CommonJS packages `require`, which Node does from 20.19.0 on (require(esm) without a flag),
 * and they use no API newer than Node 20. `content-disposition` (via @fastify/swagger-ui →
 * @fastify/static, loaded when the server starts) and `cookie` (via fastify →
 * light-my-request, loaded by `inject`).
 */
const RUN_ON_NODE_20_19 = ['content-disposition', 'cookie'];

type Version = readonly [number, number, number];

function parse(text: string): { version: Version; wildcardAt: number } {
  const parts = text.replace(/^v/, '').split('.');
  const wildcardAt = parts.findIndex((p) => p === 'x' || p === '*' || p === '');
  const numbers = parts.map((p) => Number.parseInt(p, 10) || 0);
  return {
    version: [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0],
    wildcardAt: wildcardAt === -1 ? Math.min(parts.length, 3) : wildcardAt,
  };
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Enough of semver's `satisfies` for the `engines.node` ranges of our dependencies. */
function admits(range: string, node: Version): boolean {
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter((c) => c !== '')
      .every((comparator) => {
        const [, op = '', rest = ''] = /^([<>=^~]*)(.*)$/.exec(comparator) ?? [];
        if (rest === '*' || rest === 'x') return true;
        const { version, wildcardAt } = parse(rest);
        const c = compare(node, version);
        switch (op) {
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<=':
            return c <= 0;
          case '<':
            return c < 0;
          case '^':
            return c >= 0 && node[0] === version[0];
          default:
            return version.slice(0, wildcardAt).every((n, i) => node[i] === n);
        }
      }),
  );
}

describe('dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));

  it('ask for the Node this project names in engines, in package.json and its lock alike', () => {
    expect(pkg.engines.node).toBe(`>=${OLDEST_NODE.replace(/\.0$/, '')}`);
    expect(lock.packages[''].engines.node).toBe(pkg.engines.node);
  });

  it('all accept that Node, except the ES modules known to run on it', () => {
    const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([path, entry]) => path !== '' && entry.engines?.node !== undefined)
      .filter(([, entry]) => !admits(entry.engines?.node ?? '*', parse(OLDEST_NODE).version))
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(refusing.sort()).toEqual(RUN_ON_NODE_20_19);
  });

  it.each(RUN_ON_NODE_20_19)('%s loads through require, as its CommonJS dependents load it', (name) => {
    const require = createRequire(join(REPO_ROOT, 'package.json'));
    expect(Object.keys(require(name) as object).length).toBeGreaterThan(0);
  });

  describe('the engines check', () => {
    it.each([
      ['>=22', false],
      ['>=20', true],
      ['^20.19.0 || >=22.12.0', true],
      ['^20.20.0 || >=22.12.0', false],
      ['>=22.12.0 || >=20.19.0 <21.0.0', true],
      ['18 || 20 || >=22', true],
      ['20.x || 22.x', true],
      ['^16 || ^18', false],
      ['>= 0.8', true],
      ['16 || 14 >=14.17', false],
    ])('reads %s as %s for 20.19.0', (range, expected) => {
      expect(admits(range, [20, 19, 0])).toBe(expected);
    });
  });
});

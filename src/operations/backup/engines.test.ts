import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/config.js';
import { EMBEDDED_CONTROL_STORAGE, EMBEDDED_SITE_STORAGE } from '../../config/storage-locations.js';
import { assertEmbedded } from './engines.js';

function configWith(stats: Config['sites'][number]['storage']['stats']): Config {
  return {
    storage: EMBEDDED_CONTROL_STORAGE,
    sites: [{ name: 'zurich', jurisdiction: 'CH', storage: { ...EMBEDDED_SITE_STORAGE, stats } }],
  } as unknown as Config;
}

describe('assertEmbedded', () => {
  it('accepts the embedded stores', () => {
    expect(() => assertEmbedded(configWith({ engine: 'duckdb' }), ['control', 'zurich'])).not.toThrow();
  });

  describe('when a node runs on an engine of its own', () => {
    it("refuses, naming the engine's backup tool", () => {
      const config = configWith({
        engine: 'clickhouse',
        url: 'clickhouse://db.zurich.internal:8123/glasshouse',
        key: 'sites.zurich.storage.stats',
      });
      expect(() => assertEmbedded(config, ['zurich'])).toThrow(/sites\.zurich\.storage\.stats.*BACKUP TABLE/);
      expect(() => assertEmbedded(config, ['control'])).not.toThrow();
    });
  });
});

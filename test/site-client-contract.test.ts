import { HttpSiteClient } from '../src/adapters/site-http/http-site-client.js';
import { HttpPeerSites } from '../src/adapters/site-http/peer-sites.js';
import { startSiteApi } from '../src/site/api/site-api-server.js';
import { siteClientContract } from './support/site-client-contract.js';
import { openTestSite } from './support/site-node.js';
import { createTestPki, type TestPki } from './support/site-pki.js';

const now = () => new Date('2026-03-02T12:00:00Z');

siteClientContract('SiteNode in process', async () => {
  const opened = await openTestSite({ now });
  return {
    client: opened.site,
    recordFuzzyHashes: (sha256, hashes) => opened.site.vault.recordFuzzyHashes(sha256, hashes),
    close: () => opened.close(),
  };
});

let pki: TestPki | undefined;

siteClientContract('HttpSiteClient over mutual TLS', async () => {
  pki ??= await createTestPki();
  const opened = await openTestSite({ now });
  const tls = await pki.material('site', opened.site.name);
  const peers = new HttpPeerSites({ tls, timeoutMs: 10_000 });
  const api = await startSiteApi({
    site: opened.site,
    log: opened.log,
    tls,
    host: '127.0.0.1',
    port: 0,
    now,
    peers,
  });
  const client = new HttpSiteClient({
    name: opened.site.name,
    jurisdiction: opened.site.jurisdiction,
    url: api.url,
    tls: await pki.material('control', 'control'),
    timeoutMs: 10_000,
  });
  return {
    client,
    recordFuzzyHashes: (sha256, hashes) => opened.site.vault.recordFuzzyHashes(sha256, hashes),
    async close() {
      client.close();
      peers.close();
      await api.close();
      await opened.close();
    },
  };
});

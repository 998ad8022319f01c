import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The script of the published report's `Verify` button, built beside the console (`npm run
 * build:console`) into `dist/report-verify/verify-report.js`: one file, no chunk and no
 * inline code, which `/reports/verify-report.js` serves and `report build --out` copies beside
 * the pages, so that the pages keep a policy of `script-src 'self'`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/report-verify', import.meta.url)),
    emptyOutDir: true,
    reportCompressedSize: false,
    lib: {
      entry: fileURLToPath(new URL('src/report-verify/main.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'verify-report.js',
    },
  },
});

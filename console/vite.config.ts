import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console is built once, at `npm install` (the `prepare` step), into `dist/console/`, and
 * served as static files by `glasshouse up` and `glasshouse control` under `/console/`.
 * Nothing is loaded from another origin, and no script or style is inline, so the server's
 * Content-Security-Policy can stay `'self'` only.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Inlined assets become `data:` URLs; the policy allows images from `'self'` only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npm run console:dev`: the console from source, the API from a running `glasshouse up`.
    proxy: {
      '/v1': 'http://127.0.0.1:8080',
      '/log': 'http://127.0.0.1:8080',
      '/reports': 'http://127.0.0.1:8080',
    },
  },
});

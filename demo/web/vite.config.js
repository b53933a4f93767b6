// Builds the demo page into ../static, which the Go package embeds (demo.Page): fixed file
// names (page.go serves a fixed list), no source maps, a licenses.txt of the bundled
// packages and socket.io-client's LICENSE next to them.
import { defineConfig } from 'vite';

import { licenses } from './licenses.js';

export default defineConfig({
  base: '/demo/',
  esbuild: { jsx: 'automatic' },
  // One copy of socket.io-client, this project's, also for the kit linked from ../../client.
  resolve: { dedupe: ['socket.io-client'] },
  logLevel: 'warn',
  build: {
    outDir: process.env.DEMO_OUT_DIR || '../static',
    emptyOutDir: true,
    assetsDir: '',
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: 'app.js',
        chunkFileNames: '[name].js',
        assetFileNames: (a) => ((a.names || []).some((n) => n.endsWith('.css')) ? 'style.css' : '[name][extname]'),
      },
    },
  },
  plugins: [licenses()],
});

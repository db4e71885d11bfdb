import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.PORTAL_DEV_API ?? 'http://127.0.0.1:3000';

// `npm run build` writes partner-portal/dist, which the server serves at /portal.
// `npm run portal:dev` serves the sources with hot reload and forwards the API to a
// running server (PORTAL_DEV_API, default http://127.0.0.1:3000).
export default defineConfig({
  root: import.meta.dirname,
  base: '/portal/',
  plugins: [react()],
  build: { outDir: process.env.PORTAL_OUT_DIR ?? 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 900 },
  server: { proxy: { '/trpc': api, '/api': api, '/auth': api } },
});

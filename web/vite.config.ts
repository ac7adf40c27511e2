import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The app is served by Lantern: index.html for the app's pages, everything else under /app/ (hashed file
// names, cached for a year). Nothing is fetched from elsewhere at run time: fonts, icons and codecs are bundled.
export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 8192,
    assetsInlineLimit: 0,
  },
  worker: { format: 'es' },
});

// Builds the Custom UI front end (static/ask-lore) into static/ask-lore/build, the path manifest.yml serves.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'static/ask-lore',
  base: './', // Forge serves resources from a per-app path: every asset URL must be relative
  build: { outDir: 'build', emptyOutDir: true },
  test: { root: '.', environment: 'happy-dom', include: ['test/**/*.test.js'] },
});

// Validates manifest.yml with Forge's own validator (@forge/manifest), offline: schema, modules, resources,
// remotes. Exits 1 with every error when the manifest is not one `forge deploy` would accept.
// Run after `npm run build`: the validator checks that the resource folder exists.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { validate } = require('@forge/manifest');

const here = dirname(fileURLToPath(import.meta.url));
const manifest = resolve(here, '..', 'manifest.yml');
process.chdir(resolve(here, '..')); // resource paths are relative to the app's root

const result = await validate(false, manifest);
const errors = (result.errors || []).filter((e) => e.level !== 'warning');
for (const e of result.errors || []) {
  console.log(`${e.level}: ${e.message}${e.line ? ` (line ${e.line})` : ''}`);
}
if (!result.success || errors.length) {
  console.error(`manifest.yml is not valid: ${errors.length} error(s)`);
  process.exit(1);
}
console.log('manifest.yml is valid');

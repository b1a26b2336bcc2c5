// Copies the browser build of mqtt.js and its licence from node_modules into web/vendor/,
// so the page stays a static folder with no build step and no CDN (it must work offline).
// Runs after `npm install` (postinstall) or with `npm run vendor`.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, 'node_modules', 'mqtt');
const out = join(here, 'web', 'vendor');

if (!existsSync(join(pkg, 'dist', 'mqtt.min.js'))) {
  console.error(`vendor: ${join(pkg, 'dist', 'mqtt.min.js')} not found; run "npm install" in ${here}`);
  process.exit(1);
}
const licence = readdirSync(pkg).find((f) => /^licen[cs]e/i.test(f));
if (!licence) {
  console.error(`vendor: no LICENSE file in ${pkg}`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });
copyFileSync(join(pkg, 'dist', 'mqtt.min.js'), join(out, 'mqtt.min.js'));
copyFileSync(join(pkg, licence), join(out, 'mqtt.LICENSE'));
copyFileSync(join(pkg, 'package.json'), join(out, 'mqtt.package.json'));
console.log(`vendor: copied mqtt.min.js and ${licence} into ${out}`);

// Copies MapLibre GL JS's browser build and its BSD-3 licence from node_modules into api/static/vendor/,
// which the API serves under /static/vendor/. Run by scripts/bootstrap.sh after `npm ci`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const dist = join(web, 'node_modules', 'maplibre-gl', 'dist');
const vendor = join(web, '..', 'api', 'static', 'vendor');

mkdirSync(vendor, { recursive: true });
copyFileSync(join(dist, 'maplibre-gl.js'), join(vendor, 'maplibre-gl.js'));
copyFileSync(join(dist, 'maplibre-gl.css'), join(vendor, 'maplibre-gl.css'));
copyFileSync(join(dist, 'LICENSE.txt'), join(vendor, 'maplibre-gl.LICENSE.txt'));
// Written last: bootstrap compares it with web/package-lock.json to know the copy is complete and current.
copyFileSync(join(web, 'package-lock.json'), join(vendor, 'package-lock.json'));
console.log(`web: MapLibre GL JS copied to ${vendor}`);

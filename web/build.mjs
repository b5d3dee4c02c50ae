// Copies the browser builds and licences of MapLibre GL JS (BSD-3, the map pages) and Chart.js (MIT, the
// auditor dashboard) from node_modules into api/static/vendor/, which the API serves under /static/vendor/.
// Run by scripts/bootstrap.sh after `npm ci`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const modules = join(web, 'node_modules');
const maplibre = join(modules, 'maplibre-gl', 'dist');
const chartjs = join(modules, 'chart.js');
const vendor = join(web, '..', 'api', 'static', 'vendor');

mkdirSync(vendor, { recursive: true });
copyFileSync(join(maplibre, 'maplibre-gl.js'), join(vendor, 'maplibre-gl.js'));
copyFileSync(join(maplibre, 'maplibre-gl.css'), join(vendor, 'maplibre-gl.css'));
copyFileSync(join(maplibre, 'LICENSE.txt'), join(vendor, 'maplibre-gl.LICENSE.txt'));
// The UMD build defines window.Chart for a plain <script>; it is already minified and bundles @kurkle/color
// (MIT), whose licence travels with it.
copyFileSync(join(chartjs, 'dist', 'chart.umd.js'), join(vendor, 'chart.umd.js'));
copyFileSync(join(chartjs, 'LICENSE.md'), join(vendor, 'chart.js.LICENSE.md'));
copyFileSync(join(modules, '@kurkle', 'color', 'LICENSE.md'), join(vendor, 'kurkle-color.LICENSE.md'));
// Written last: bootstrap compares it with web/package-lock.json to know the copy is complete and current.
copyFileSync(join(web, 'package-lock.json'), join(vendor, 'package-lock.json'));
console.log(`web: MapLibre GL JS and Chart.js copied to ${vendor}`);

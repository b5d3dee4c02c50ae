// Builds everything the API serves from web/ into api/static/ (run by scripts/bootstrap.sh after `npm ci`):
//   vendor/                  MapLibre GL JS (BSD-3, the map pages) and Chart.js (MIT, the dashboard), copied
//   officer/, command/, app/ the installable apps: index.html (bundle and styles inside), service worker,
//                            manifest, icons
//   trusted-documents.json   every GraphQL document the apps and pages send, by the sha256 of its text
//   web-build.json           what was built and how big it is (docs/benchmarks.md reports it)
// `node build.mjs --check` only generates the operations' types and type-checks the sources (make lint): a
// schema change that breaks an app's operation fails there.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { generate } from '@graphql-codegen/cli';
import * as esbuild from 'esbuild';
import codegen from './codegen.mjs';

const web = dirname(fileURLToPath(import.meta.url));
const root = join(web, '..');
const modules = join(web, 'node_modules');
const staticDir = join(root, 'api', 'static');
const checkOnly = process.argv.includes('--check');

const APPS = {
  officer: {
    name: 'CROP Petugas Jakarta',
    shortName: 'CROP',
    description: 'Antrian kerja petugas kelurahan, kecamatan dan suku dinas.',
    theme: '#0b5394',
  },
  command: {
    name: 'Pusat Komando Jakarta',
    shortName: 'Komando',
    description: 'Peta laporan, kamera CCTV, peringatan dan pintu air Jakarta, langsung.',
    theme: '#0b5394',
    orientation: 'any', // a wall is landscape, the mayor's phone portrait
  },
  app: {
    name: 'Lapor Jakarta',
    shortName: 'Lapor',
    description: 'Laporkan masalah kota dengan foto dan lokasi.',
    theme: '#b03a1a',
  },
};

function run(command, args) {
  execFileSync(command, args, { cwd: web, stdio: 'inherit' });
}

async function types() {
  await generate({ ...codegen, silent: true, cwd: web }, true);
  const tsc = join(modules, '.bin', 'tsc');
  run(tsc, ['-p', 'tsconfig.json']);
  run(tsc, ['-p', 'tsconfig.sw.json']);
}

function copyVendor() {
  const vendor = join(staticDir, 'vendor');
  const maplibre = join(modules, 'maplibre-gl', 'dist');
  const chartjs = join(modules, 'chart.js');
  mkdirSync(vendor, { recursive: true });
  copyFileSync(join(maplibre, 'maplibre-gl.js'), join(vendor, 'maplibre-gl.js'));
  copyFileSync(join(maplibre, 'maplibre-gl.css'), join(vendor, 'maplibre-gl.css'));
  // The apps' Content-Security-Policy allows workers from the API only (worker-src 'self'), not the blob: worker
  // MapLibre makes by default: they point maplibregl.setWorkerUrl() at this file.
  copyFileSync(join(maplibre, 'maplibre-gl-csp-worker.js'), join(vendor, 'maplibre-gl-csp-worker.js'));
  copyFileSync(join(maplibre, 'LICENSE.txt'), join(vendor, 'maplibre-gl.LICENSE.txt'));
  // The UMD build defines window.Chart for a plain <script>; it bundles @kurkle/color (MIT).
  copyFileSync(join(chartjs, 'dist', 'chart.umd.js'), join(vendor, 'chart.umd.js'));
  copyFileSync(join(chartjs, 'LICENSE.md'), join(vendor, 'chart.js.LICENSE.md'));
  copyFileSync(join(modules, '@kurkle', 'color', 'LICENSE.md'), join(vendor, 'kurkle-color.LICENSE.md'));
  copyFileSync(join(modules, 'preact', 'LICENSE'), join(vendor, 'preact.LICENSE.txt'));
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

// The pages written in plain JavaScript (api/static/*.js) mark each GraphQL document as a constant:
// `/* GraphQL */ \`query ... \`` with no interpolation, so its exact text can be trusted.
const MARKED = /\/\*\s*GraphQL\s*\*\/\s*`([^`]*)`/g;

function pageDocuments() {
  const found = {};
  for (const name of readdirSync(staticDir).filter((file) => file.endsWith('.js'))) {
    for (const match of readFileSync(join(staticDir, name), 'utf8').matchAll(MARKED)) {
      if (match[1].includes('${')) throw new Error(`${name}: a GraphQL document with an interpolation cannot be trusted`);
      found[sha256(match[1])] = match[1];
    }
  }
  return found;
}

function trustedDocuments() {
  const generated = JSON.parse(readFileSync(join(web, 'src', 'gql', 'persisted-documents.json'), 'utf8'));
  const documents = pageDocuments();
  for (const [id, text] of Object.entries(generated)) {
    const hex = id.replace(/^sha256:/, '');
    if (sha256(text) !== hex) throw new Error(`persisted document ${id} does not match its text`);
    documents[hex] = text;
  }
  const sorted = Object.fromEntries(Object.entries(documents).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(join(staticDir, 'trusted-documents.json'), `${JSON.stringify(sorted, null, 1)}\n`);
  return Object.keys(sorted).length;
}

// The bundle and the stylesheet go inside the page: on a slow 3G link each request waits seconds for its first
// byte, so one request for everything starts the app about two seconds sooner than three. The server's
// Content-Security-Policy allows exactly these two inline blocks by their sha256 (web-build.json).
function page(config, script, style) {
  if (/<\/script/i.test(script) || /<\/style/i.test(style)) throw new Error('a bundle cannot be inlined: it holds a closing tag');
  return `<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="${config.theme}">
<meta name="description" content="${config.description}">
<title>${config.name}</title>
<link rel="manifest" href="manifest.webmanifest">
<link rel="icon" href="icon-192.png" type="image/png">
<link rel="apple-touch-icon" href="icon-192.png">
<style>${style}</style>
<script type="module">${script}</script>
</head>
<body>
<div id="app"><noscript>Aplikasi ini memerlukan JavaScript. This app needs JavaScript.</noscript></div>
</body>
</html>
`;
}

const cspHash = (text) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

function manifest(app, config) {
  return {
    id: `/${app}/`,
    name: config.name,
    short_name: config.shortName,
    description: config.description,
    lang: 'id',
    start_url: './',
    scope: './',
    display: 'standalone',
    orientation: config.orientation ?? 'portrait',
    background_color: '#f3f4f6',
    theme_color: config.theme,
    icons: [
      { src: 'icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: 'maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  };
}

/** An app's own stylesheet (which @imports the shared one) when it has one, else the shared one. */
function appStyles(app) {
  const own = join(web, 'src', app, 'styles.css');
  return existsSync(own) ? own : join(web, 'src', 'shared', 'styles.css');
}

// The client preset's graphql() looks each document up in a map of every document of every app, text and all,
// which would put both apps' documents in each bundle. The server runs documents by id (trusted documents), so
// the bundle needs only each document's hash: this plugin replaces every graphql(`...`) call with
// {__meta__: {hash}} (a fragment, never sent alone, with {}), and the gql modules drop out of the bundle.
function documentsById() {
  const generatedDir = join(web, 'src', 'gql');
  const generated = readFileSync(join(generatedDir, 'graphql.ts'), 'utf8');
  const hashes = new Map();
  for (const match of generated.matchAll(/export const (\w+) = new TypedDocumentString\(`[^`]*`, (\{[^}]*\})\)/g)) {
    hashes.set(match[1], JSON.parse(match[2]).hash);
  }
  const bySource = new Map();
  const lookup = readFileSync(join(generatedDir, 'gql.ts'), 'utf8');
  const start = lookup.indexOf('const documents');
  for (const match of lookup.slice(start).matchAll(/^\s+("(?:[^"\\]|\\.)*"): types\.(\w+),$/gm)) {
    const hash = hashes.get(match[2]);
    bySource.set(JSON.parse(match[1]), hash ? `{__meta__:{hash:${JSON.stringify(hash)}}}` : '{}');
  }
  return bySource;
}

function documentsAsIds() {
  const bySource = documentsById();
  return {
    name: 'documents-as-ids',
    setup(build) {
      build.onLoad({ filter: /\.tsx?$/ }, (args) => {
        if (!args.path.startsWith(join(web, 'src')) || args.path.startsWith(join(web, 'src', 'gql'))) return undefined;
        let source = readFileSync(args.path, 'utf8');
        if (!source.includes('graphql(`')) return undefined;
        source = source.replace(/\bgraphql\(`([^`]*)`\)/g, (call, text) => {
          const replacement = bySource.get(text);
          if (replacement === undefined) throw new Error(`${args.path}: a graphql() document the generator did not see`);
          return replacement;
        });
        source = source.replace(/^import \{ graphql \} from '[./]+gql';\n/m, '');
        return { contents: source, loader: args.path.endsWith('x') ? 'tsx' : 'ts' };
      });
    },
  };
}

async function buildApp(app, config) {
  const out = join(staticDir, app);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { main: join(web, 'src', app, 'main.tsx'), styles: appStyles(app) },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    outdir: out,
    write: false,
    plugins: [documentsAsIds()],
    legalComments: 'none',
    logLevel: 'warning',
  });
  const text = (suffix) => result.outputFiles.find((file) => file.path.endsWith(suffix)).text.trimEnd();
  const script = text('main.js');
  const style = text('styles.css');
  for (const icon of readdirSync(join(web, 'public', app))) copyFileSync(join(web, 'public', app, icon), join(out, icon));
  const html = page(config, script, style);
  writeFileSync(join(out, 'index.html'), html);
  writeFileSync(join(out, 'manifest.webmanifest'), `${JSON.stringify(manifest(app, config), null, 1)}\n`);
  const shell = ['./', 'manifest.webmanifest', ...readdirSync(join(web, 'public', app))];
  const version = sha256(html).slice(0, 16);
  await esbuild.build({
    entryPoints: [join(web, 'src', 'sw.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    outfile: join(out, 'sw.js'),
    define: { JSC_CACHE: JSON.stringify(`jsc-${app}:${version}`), JSC_SHELL: JSON.stringify(shell) },
    logLevel: 'warning',
  });
  const sizes = {};
  for (const [name, content] of [['script', script], ['style', style], ['index.html', html], ['sw.js', readFileSync(join(out, 'sw.js'))]]) {
    const bytes = Buffer.from(content);
    sizes[name] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  return { version, sizes, csp: { script: cspHash(script), style: cspHash(style) } };
}

await types();
if (!checkOnly) {
  copyVendor();
  const built = {};
  for (const [app, config] of Object.entries(APPS)) built[app] = await buildApp(app, config);
  const documents = trustedDocuments();
  writeFileSync(join(staticDir, 'web-build.json'), `${JSON.stringify({ apps: built, trustedDocuments: documents }, null, 1)}\n`);
  // Written last: bootstrap compares it with web/package-lock.json to know the copy is complete and current.
  copyFileSync(join(web, 'package-lock.json'), join(staticDir, 'vendor', 'package-lock.json'));
  for (const [app, { sizes }] of Object.entries(built)) {
    console.log(`web: /${app}/ built (page ${(sizes['index.html'].gzip / 1024).toFixed(1)} KiB gzipped), ${documents} trusted documents`);
  }
}

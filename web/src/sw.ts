// The service worker of one app (built once per app with its file list): keeps the shell so the app opens
// offline, and the kelurahan base map's tiles it has shown. GraphQL is not cached here: the app keeps its last
// answers itself (src/shared/data.ts) and knows when an answer is stale.
const sw = self as unknown as ServiceWorkerGlobalScope;
declare const JSC_CACHE: string;
declare const JSC_SHELL: string[];

const TILES = `${JSC_CACHE.split(':')[0]}:tiles`;
const TILE_LIMIT = 400;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(JSC_CACHE)
      .then((cache) => cache.addAll(JSC_SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  const prefix = `${JSC_CACHE.split(':')[0]}:`;
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((name) => name.startsWith(prefix) && name !== JSC_CACHE && name !== TILES).map((name) => caches.delete(name))),
      )
      .then(() => sw.clients.claim()),
  );
});

async function shellFirst(request: Request): Promise<Response> {
  // ignoreVary: the API answers with `Vary: Origin`, and a module script's request carries an Origin that the
  // precaching request did not.
  const cached = await caches.match(request, { cacheName: JSC_CACHE, ignoreSearch: true, ignoreVary: true });
  return cached ?? fetch(request);
}

/**
 * A page load: the kept shell at once (on a slow link the network would add seconds to every start), refreshed
 * in the background so that a new version is used from the next start; the network when nothing is kept.
 */
async function page(event: FetchEvent): Promise<Response> {
  const cache = await caches.open(JSC_CACHE);
  const kept = await cache.match('./');
  const fresh = fetch(event.request).then(async (response) => {
    if (response.ok && new URL(response.url).pathname === new URL('./', sw.location.href).pathname) {
      await cache.put('./', response.clone());
    }
    return response;
  });
  if (kept) {
    event.waitUntil(fresh.catch(() => undefined));
    return kept;
  }
  return fresh;
}

async function tile(request: Request): Promise<Response> {
  const cache = await caches.open(TILES);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
      const keys = await cache.keys();
      for (const old of keys.slice(0, Math.max(0, keys.length - TILE_LIMIT))) await cache.delete(old);
    }
    return response;
  } catch {
    return (await cache.match(request)) ?? Response.error();
  }
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith('/tiles/kelurahan/')) {
    event.respondWith(tile(request));
  } else if (JSC_SHELL.some((path) => new URL(path, sw.location.href).pathname === url.pathname)) {
    event.respondWith(shellFirst(request));
  }
});

export {};

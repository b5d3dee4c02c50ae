// The installable shell: the service worker that keeps the app's files for offline starts, and the
// connection state the screens show.
import { signal } from './signal';

export const online = signal<boolean>(navigator.onLine);
window.addEventListener('online', () => online.set(true));
window.addEventListener('offline', () => online.set(false));

/** Registers the app's service worker (its scope is the app's folder, e.g. /officer/). */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('sw.js').catch((error: unknown) => {
      console.warn('service worker not registered', error);
    });
  });
}

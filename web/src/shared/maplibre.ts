// MapLibre GL JS (api/static/vendor/, ~250 KB gzipped), fetched only when a map is shown, so no screen waits for
// it; the apps' CSP allows workers from the API only, so it is pointed at the CSP build of its worker.
import type * as MapLibre from 'maplibre-gl';

export type Library = typeof MapLibre;

declare global {
  interface Window {
    maplibregl?: Library;
  }
}

const SCRIPT = '/static/vendor/maplibre-gl.js';
const STYLE = '/static/vendor/maplibre-gl.css';
/** The page's CSP allows workers from the API only, not the blob: worker MapLibre would make of its own code. */
const WORKER = '/static/vendor/maplibre-gl-csp-worker.js';
/** Central Jakarta, when there is nothing to show yet. */
export const JAKARTA: [number, number] = [106.8227, -6.1944];

let loading: Promise<Library> | null = null;

/** Loads MapLibre once; a failure (offline) lets a later map try again. */
export function loadMapLibre(): Promise<Library> {
  loading ??= new Promise<Library>((resolve, reject) => {
    if (window.maplibregl) {
      resolve(window.maplibregl);
      return;
    }
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = STYLE;
    document.head.append(style);
    const script = document.createElement('script');
    script.src = SCRIPT;
    script.async = true;
    script.onload = () => {
      const library = window.maplibregl;
      if (!library) {
        reject(new Error('no maplibregl'));
        return;
      }
      library.setWorkerUrl(WORKER);
      resolve(library);
    };
    script.onerror = () => {
      script.remove();
      reject(new Error('MapLibre could not be loaded'));
    };
    document.head.append(script);
  }).catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

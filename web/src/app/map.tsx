// The map pin of a new report. MapLibre (about 250 kB gzipped) is fetched only when the citizen asks to correct
// the point, never before the form is usable: on EDGE the phone's position is enough, and "use my position"
// works without the map. The base map is the API's kelurahan tiles (the service worker keeps those it showed).
// The pin stays in the middle and the map moves under it: dragging with a finger, or the arrow keys, both work.
import type * as MapLibre from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { language } from '../shared/i18n';
import { useSignal } from '../shared/signal';
import { t } from './strings';

type Library = typeof MapLibre;

/** The UMD build defines window.maplibregl (not declared globally: the officer app loads it too). */
const loaded = (): Library | undefined => (window as unknown as { maplibregl?: Library }).maplibregl;

const SCRIPT = '/static/vendor/maplibre-gl.js';
const STYLE = '/static/vendor/maplibre-gl.css';
/** The page's CSP allows workers from the API only, not the blob: worker MapLibre makes by default. */
const WORKER = '/static/vendor/maplibre-gl-csp-worker.js';
let loading: Promise<Library> | null = null;

function fetched(element: HTMLLinkElement | HTMLScriptElement): Promise<void> {
  return new Promise((resolve, reject) => {
    element.onload = () => resolve();
    element.onerror = () => reject(new Error(`${element instanceof HTMLLinkElement ? element.href : element.src} did not load`));
    document.head.append(element);
  });
}

function loadMapLibre(): Promise<Library> {
  loading ??= (async () => {
    const ready = loaded();
    if (ready) return ready;
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = STYLE;
    const script = document.createElement('script');
    script.src = SCRIPT;
    script.async = true;
    // Both before the map is made: it measures its container, which the stylesheet shapes.
    await Promise.all([fetched(style), fetched(script)]);
    const library = loaded();
    if (!library) throw new Error('maplibregl missing');
    library.setWorkerUrl(WORKER);
    return library;
  })().catch((error: unknown) => {
    loading = null; // a later attempt (back online) tries again
    throw error;
  });
  return loading;
}

function style(): MapLibre.StyleSpecification {
  return {
    version: 8,
    sources: {
      kelurahan: {
        type: 'vector',
        tiles: [`${location.origin}/tiles/kelurahan/{z}/{x}/{y}.pbf`],
        minzoom: 8,
        maxzoom: 14,
        attribution: 'Batas kelurahan © 2024 cahya dsn (MIT)',
      },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#d9e4ec' } },
      { id: 'kelurahan-fill', type: 'fill', source: 'kelurahan', 'source-layer': 'kelurahan', paint: { 'fill-color': '#f6f4ee' } },
      {
        id: 'kelurahan-outline',
        type: 'line',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: { 'line-color': '#6b7280', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.5, 17, 2] },
      },
    ],
  };
}

export type Point = { lat: number; lon: number };

/** A map centred on `point`; moving it calls `onPick` with the point under the pin. */
export function PinMap(props: { point: Point; onPick: (point: Point) => void }) {
  useSignal(language);
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibre.Map | null>(null);
  const pick = useRef(props.onPick);
  pick.current = props.onPick;
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');

  useEffect(() => {
    let cancelled = false;
    loadMapLibre()
      .then((library) => {
        if (cancelled || !container.current) return;
        const created = new library.Map({
          container: container.current,
          style: style(),
          center: [props.point.lon, props.point.lat],
          zoom: 16,
          minZoom: 10,
          maxZoom: 19,
          attributionControl: { compact: true },
        });
        created.addControl(new library.NavigationControl({ showCompass: false }));
        created.on('moveend', (event: { originalEvent?: unknown }) => {
          // Only the citizen's moves pick a point; ours (following "use my position") do not.
          if (!event.originalEvent) return;
          const centre = created.getCenter();
          pick.current({ lat: centre.lat, lon: centre.lng });
        });
        map.current = created;
        setState('ready');
      })
      .catch(() => {
        if (!cancelled) setState('failed');
      });
    return () => {
      cancelled = true;
      map.current?.remove();
      map.current = null;
    };
  }, []);

  useEffect(() => {
    const shown = map.current;
    if (!shown) return;
    const centre = shown.getCenter();
    if (Math.abs(centre.lat - props.point.lat) > 1e-7 || Math.abs(centre.lng - props.point.lon) > 1e-7) {
      shown.jumpTo({ center: [props.point.lon, props.point.lat] });
    }
  }, [props.point.lat, props.point.lon]);

  return (
    <div class="pin-map">
      {state === 'failed' ? (
        <p class="banner banner-error" role="alert">
          {t('new.mapFailed')}
        </p>
      ) : (
        <>
          <p class="field-hint">{state === 'loading' ? t('new.mapLoading') : t('new.mapHint')}</p>
          <div class="pin-map-frame" role="group" aria-label={t('new.mapLabel')}>
            <div class="pin-map-canvas" ref={container} />
            <span class="pin-map-pin" aria-hidden="true" />
          </div>
        </>
      )}
    </div>
  );
}

// A map of the area: MapLibre GL JS (api/static/vendor/, ~250 KB gzipped) is fetched only when a map is shown,
// so the queue never waits for it; the base map is the API's kelurahan vector tiles (the service worker keeps
// those it has shown) with the officer's own kelurahan shaded, and the reports are drawn from the queue itself.
import type * as MapLibre from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { language } from '../shared/i18n';
import { JAKARTA, loadMapLibre } from '../shared/maplibre';
import { useSignal } from '../shared/signal';
import { t } from './strings';

export type MapPoint = { id: string; lat: number; lon: number; status: string; overdue: boolean };

const STATUS_COLOURS: [string, string][] = [
  ['WAITING', '#b45309'],
  ['REOPENED', '#b45309'],
  ['COORDINATION', '#1d4ed8'],
  ['DISPOSITION', '#6d28d9'],
  ['IN_PROGRESS', '#1d4ed8'],
  ['VERIFYING', '#a16207'],
  ['COMPLETED', '#15803d'],
];

type Data = Parameters<MapLibre.GeoJSONSource['setData']>[0];

function features(points: MapPoint[]): Data {
  return {
    type: 'FeatureCollection',
    features: points.map((point) => ({
      type: 'Feature',
      id: point.id,
      geometry: { type: 'Point', coordinates: [point.lon, point.lat] },
      properties: { id: point.id, status: point.status, overdue: point.overdue },
    })),
  };
}

function style(kelurahanCode: string | null): MapLibre.StyleSpecification {
  const colour: unknown[] = ['match', ['get', 'status']];
  for (const [status, value] of STATUS_COLOURS) colour.push(status, value);
  colour.push('#4b5563');
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
      reports: { type: 'geojson', data: features([]) },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#dde6ee' } },
      {
        id: 'kelurahan-fill',
        type: 'fill',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: { 'fill-color': ['case', ['==', ['get', 'code'], kelurahanCode ?? ''], '#fff2c4', '#f6f4ee'] },
      },
      {
        id: 'kelurahan-outline',
        type: 'line',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: { 'line-color': '#8d96a1', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.4, 16, 1.6] },
      },
      {
        id: 'reports',
        type: 'circle',
        source: 'reports',
        paint: {
          'circle-color': colour as MapLibre.ExpressionSpecification,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 5, 18, 10],
          'circle-stroke-color': ['case', ['get', 'overdue'], '#b91c1c', '#ffffff'],
          'circle-stroke-width': ['case', ['get', 'overdue'], 3, 1.5],
        },
      },
    ],
  };
}

/** The kelurahan code of a kelurahan office's unit code (kel-31.73.02.1003 → 31.73.02.1003). */
export function kelurahanOf(unitCode: string | null | undefined): string | null {
  return unitCode?.startsWith('kel-') ? unitCode.slice(4) : null;
}

export function AreaMap(props: {
  points: MapPoint[];
  label: string;
  kelurahanCode: string | null;
  onOpen?: (id: string) => void;
  zoom?: number;
  class?: string;
}) {
  useSignal(language);
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibre.Map | null>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');
  const open = useRef(props.onOpen);
  open.current = props.onOpen;

  useEffect(() => {
    let cancelled = false;
    loadMapLibre()
      .then((library) => {
        if (cancelled || !container.current) return;
        const created = new library.Map({
          container: container.current,
          style: style(props.kelurahanCode),
          center: JAKARTA,
          zoom: 11,
          minZoom: 9,
          maxZoom: 19,
          attributionControl: { compact: true },
        });
        created.addControl(new library.NavigationControl({ showCompass: false }));
        created.on('click', 'reports', (event) => {
          const id = event.features?.[0]?.properties?.id;
          if (typeof id === 'string') open.current?.(id);
        });
        created.on('mouseenter', 'reports', () => (created.getCanvas().style.cursor = 'pointer'));
        created.on('mouseleave', 'reports', () => (created.getCanvas().style.cursor = ''));
        map.current = created;
        (window as unknown as { jscOfficerMap?: MapLibre.Map }).jscOfficerMap = created;
        setState('ready');
      })
      .catch(() => !cancelled && setState('failed'));
    return () => {
      cancelled = true;
      map.current?.remove();
      map.current = null;
    };
  }, [props.kelurahanCode]);

  useEffect(() => {
    const current = map.current;
    if (!current || state !== 'ready') return;
    const show = () => {
      (current.getSource('reports') as MapLibre.GeoJSONSource | undefined)?.setData(features(props.points));
      if (props.points.length === 0) return;
      const lons = props.points.map((point) => point.lon);
      const lats = props.points.map((point) => point.lat);
      const bounds: [number, number, number, number] = [
        Math.min(...lons),
        Math.min(...lats),
        Math.max(...lons),
        Math.max(...lats),
      ];
      current.fitBounds(bounds, { padding: 40, maxZoom: props.zoom ?? 16, duration: 0 });
    };
    if (current.isStyleLoaded()) show();
    else current.once('load', show);
  }, [state, props.points, props.zoom]);

  return (
    <div class={`area-map ${props.class ?? ''}`}>
      <div ref={container} class="area-map-canvas" role="region" aria-label={props.label} />
      {state === 'loading' ? <p class="area-map-note">{t('map.loading')}</p> : null}
      {state === 'failed' ? <p class="area-map-note">{t('map.failed')}</p> : null}
    </div>
  );
}

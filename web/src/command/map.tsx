// The wall's map: the kelurahan base layer and the public map's report tiles (under the wall's filter; fetched
// again, past the browser's cache, whenever a live event says the reports changed), the cameras coloured by
// their state, and the reports filed since the wall opened ringed.
import type * as MapLibre from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { language } from '../shared/i18n';
import { JAKARTA, loadMapLibre } from '../shared/maplibre';
import { useSignal } from '../shared/signal';
import { CAMERA_COLOURS, type CameraState, type Filter, STATUS_COLOURS, tileQuery } from './state';
import { t } from './strings';

export type CameraPoint = { code: string; name: string; lat: number; lon: number; state: CameraState };
export type NewReport = { id: string; lat: number; lon: number };

/** The mainland of DKI Jakarta, whatever the size of the screen: a wall shows it whole, as a phone does. */
const DKI_JAKARTA: [number, number, number, number] = [106.68, -6.37, 106.98, -6.08];

type Data = Parameters<MapLibre.GeoJSONSource['setData']>[0];

function points<T extends { lat: number; lon: number }>(items: T[], properties: (item: T) => object): Data {
  return {
    type: 'FeatureCollection',
    features: items.map((item) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [item.lon, item.lat] },
      properties: properties(item),
    })),
  };
}

const tilesUrl = (filter: Filter, version: number) =>
  `${location.origin}/tiles/reports/{z}/{x}/{y}.pbf${tileQuery(filter, version)}`;

function style(filter: Filter, version: number): MapLibre.StyleSpecification {
  const status: unknown[] = ['match', ['get', 'status']];
  for (const [code, colour] of STATUS_COLOURS) status.push(code, colour);
  status.push('#4b5563');
  const camera: unknown[] = ['match', ['get', 'state']];
  for (const [state, colour] of Object.entries(CAMERA_COLOURS)) camera.push(state, colour);
  camera.push('#4b5563');
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
      reports: { type: 'vector', tiles: [tilesUrl(filter, version)], minzoom: 8, maxzoom: 16 },
      cameras: { type: 'geojson', data: points([], () => ({})) },
      fresh: { type: 'geojson', data: points([], () => ({})) },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#d9e4ec' } },
      { id: 'kelurahan-fill', type: 'fill', source: 'kelurahan', 'source-layer': 'kelurahan', paint: { 'fill-color': '#f6f4ee' } },
      {
        id: 'kelurahan-outline',
        type: 'line',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: { 'line-color': '#8d96a1', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.4, 16, 1.6] },
      },
      {
        id: 'report-clusters',
        type: 'circle',
        source: 'reports',
        'source-layer': 'reports',
        filter: ['==', ['get', 'cluster'], true],
        paint: {
          'circle-color': '#1f5fa8',
          'circle-opacity': 0.75,
          'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 8, 10, 14, 100, 22, 1000, 32],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      },
      {
        id: 'report-points',
        type: 'circle',
        source: 'reports',
        'source-layer': 'reports',
        filter: ['!=', ['get', 'cluster'], true],
        paint: {
          'circle-color': status as MapLibre.ExpressionSpecification,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 6, 18, 11],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2,
        },
      },
      {
        id: 'fresh',
        type: 'circle',
        source: 'fresh',
        paint: {
          'circle-color': 'rgba(0,0,0,0)',
          'circle-radius': 14,
          'circle-stroke-color': '#b91c1c',
          'circle-stroke-width': 3,
        },
      },
      {
        id: 'cameras',
        type: 'circle',
        source: 'cameras',
        // A camera in alert is drawn over the ones near it.
        layout: { 'circle-sort-key': ['match', ['get', 'state'], 'alert', 3, 'fault', 2, 'ok', 1, 0] },
        paint: {
          'circle-color': camera as MapLibre.ExpressionSpecification,
          'circle-radius': 9,
          'circle-stroke-color': '#111827',
          'circle-stroke-width': 2,
        },
      },
    ],
  };
}

export function WallMap(props: { cameras: CameraPoint[]; fresh: NewReport[]; filter: Filter; version: number }) {
  useSignal(language);
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibre.Map | null>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');
  const initial = useRef({ filter: props.filter, version: props.version });

  useEffect(() => {
    let cancelled = false;
    loadMapLibre()
      .then((library) => {
        if (cancelled || !container.current) return;
        const created = new library.Map({
          container: container.current,
          style: style(initial.current.filter, initial.current.version),
          center: JAKARTA,
          bounds: DKI_JAKARTA,
          fitBoundsOptions: { padding: 16 },
          minZoom: 8,
          maxZoom: 19,
          attributionControl: { compact: true },
        });
        created.addControl(new library.NavigationControl({ showCompass: false }));
        created.once('load', () => !cancelled && setState('ready'));
        map.current = created;
        (window as unknown as { jscCommandMap?: MapLibre.Map }).jscCommandMap = created;
      })
      .catch(() => !cancelled && setState('failed'));
    return () => {
      cancelled = true;
      map.current?.remove();
      map.current = null;
    };
  }, []);

  useEffect(() => {
    if (state !== 'ready' || !map.current) return;
    (map.current.getSource('reports') as MapLibre.VectorTileSource).setTiles([tilesUrl(props.filter, props.version)]);
  }, [state, props.filter, props.version]);

  useEffect(() => {
    if (state !== 'ready' || !map.current) return;
    (map.current.getSource('cameras') as MapLibre.GeoJSONSource).setData(
      points(props.cameras, (camera) => ({ code: camera.code, name: camera.name, state: camera.state })),
    );
  }, [state, props.cameras]);

  useEffect(() => {
    if (state !== 'ready' || !map.current) return;
    (map.current.getSource('fresh') as MapLibre.GeoJSONSource).setData(points(props.fresh, (report) => ({ id: report.id })));
  }, [state, props.fresh]);

  return (
    <div class="wall-map">
      <div ref={container} class="wall-map-canvas" role="region" aria-label={t('map.label')} />
      {state === 'loading' ? <p class="wall-map-note">{t('map.loading')}</p> : null}
      {state === 'failed' ? <p class="wall-map-note">{t('map.failed')}</p> : null}
      <ul class="legend" aria-label={t('map.legend')}>
        {(Object.keys(CAMERA_COLOURS) as CameraState[]).map((key) => (
          <li key={key}>
            <span class={`legend-dot camera-${key}`} aria-hidden="true" />
            {t(`camera.${key}`)}
          </li>
        ))}
      </ul>
    </div>
  );
}

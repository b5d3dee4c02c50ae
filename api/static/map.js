// The public map: kelurahan polygons as the base layer (no internet basemap, no glyphs), report clusters and
// points from the API's vector tiles, filters, a detail panel from `report(id)`, and live updates.
import { LiveSubscription } from './live.js';

const maplibregl = window.maplibregl;

const DEFAULT_VIEW = { lat: -6.2, lon: 106.83, zoom: 11 };
// The service area, padded; the live subscription listens to all of it whatever the view.
// All of Jakarta's kelurahan, Kepulauan Seribu's islands (up to 5.2° S, 106.39° E) too.
const SERVICE_AREA = { west: 106.35, south: -6.5, east: 107.1, north: -5.15 };
const POINTS_FROM_ZOOM = 15; // the tiles hold clusters up to zoom 14, single reports above
const LIVE_EVENTS_SHOWN = 20;
const REFRESH_DELAY_MS = 400;

const STATUSES = [
  { code: 'WAITING', label: 'Menunggu', color: '#e8a200' },
  { code: 'COORDINATION', label: 'Koordinasi', color: '#8e44ad' },
  { code: 'DISPOSITION', label: 'Disposisi', color: '#2e86c1' },
  { code: 'IN_PROGRESS', label: 'Proses', color: '#d35400' },
  { code: 'VERIFYING', label: 'Menunggu verifikasi', color: '#16a085' },
  { code: 'COMPLETED', label: 'Selesai', color: '#1e8449' },
  { code: 'REJECTED', label: 'Ditolak', color: '#7f8c8d' },
  { code: 'DUPLICATE', label: 'Duplikat', color: '#b3b6b7' },
  { code: 'REOPENED', label: 'Dibuka kembali', color: '#c0392b' },
];
const STATUS_BY_CODE = new Map(STATUSES.map((s) => [s.code, s]));

const CATEGORIES_QUERY = /* GraphQL */ `query MapCategories { categories { code nameId nameEn } }`;
const REPORT_QUERY = /* GraphQL */ `query MapReport($id: ID!) {
  report(id: $id) {
    id description status statusLabel createdAt
    category { code nameId }
    kelurahan { name }
    photos { id status thumbnailUrl }
  }
}`;
const EVENTS_SUBSCRIPTION = /* GraphQL */ `subscription MapReportEvents($bbox: BBoxInput, $categories: [String!]) {
  reportEvents(bbox: $bbox, categories: $categories) {
    kind
    report { id lat lon category status createdAt }
  }
}`;

const dateFormat = new Intl.DateTimeFormat('id-ID', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'Asia/Jakarta',
});

const state = {
  categories: new Map(), // code -> {code, nameId, nameEn}
  selectedCategories: [], // empty: every category
  statuses: new Set(STATUSES.map((s) => s.code)),
  tilesVersion: 0,
  detailRequest: 0,
};

function initialView(search) {
  const params = new URLSearchParams(search);
  const number = (name, fallback, low, high) => {
    const value = Number.parseFloat(params.get(name) ?? '');
    return Number.isFinite(value) && value >= low && value <= high ? value : fallback;
  };
  return {
    lat: number('lat', DEFAULT_VIEW.lat, -90, 90),
    lon: number('lon', DEFAULT_VIEW.lon, -180, 180),
    zoom: number('zoom', DEFAULT_VIEW.zoom, 0, 22),
  };
}

async function graphql(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  if (!response.ok) {
    throw new Error(`GraphQL HTTP ${response.status}`);
  }
  const body = await response.json();
  if (body.errors && body.errors.length) {
    throw new Error(body.errors[0].message);
  }
  return body.data;
}

// Built by hand: URL() would percent-encode the {z}/{x}/{y} placeholders MapLibre substitutes.
function reportTilesUrl() {
  const params = new URLSearchParams();
  if (state.selectedCategories.length) {
    params.set('categories', state.selectedCategories.join(','));
  }
  if (state.statuses.size !== STATUSES.length) {
    params.set('statuses', [...state.statuses].join(','));
  }
  if (state.tilesVersion) {
    params.set('v', String(state.tilesVersion)); // past the browser's cache after a live event
  }
  const query = params.toString();
  return `${location.origin}/tiles/reports/{z}/{x}/{y}.pbf${query ? `?${query}` : ''}`;
}

function mapStyle() {
  const statusColor = ['match', ['get', 'status']];
  for (const status of STATUSES) {
    statusColor.push(status.code, status.color);
  }
  statusColor.push('#34495e');
  return {
    version: 8,
    sources: {
      kelurahan: {
        type: 'vector',
        tiles: [`${location.origin}/tiles/kelurahan/{z}/{x}/{y}.pbf`],
        minzoom: 8,
        maxzoom: 14,
        promoteId: { kelurahan: 'code' },
        attribution: 'Batas kelurahan © 2024 cahya dsn (MIT)',
      },
      reports: { type: 'vector', tiles: [reportTilesUrl()], minzoom: 8, maxzoom: 16 },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#d9e4ec' } },
      {
        id: 'kelurahan-fill',
        type: 'fill',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: {
          'fill-color': ['case', ['boolean', ['feature-state', 'hover'], false], '#fff4c2', '#f6f4ee'],
        },
      },
      {
        id: 'kelurahan-outline',
        type: 'line',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: {
          'line-color': '#8d96a1',
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.4, 16, 1.6],
        },
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
          'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 7, 10, 12, 100, 19, 1000, 28],
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
          'circle-color': statusColor,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 15, 6, 19, 10],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2,
        },
      },
    ],
  };
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child);
  }
  return node;
}

function categoryName(code) {
  const category = state.categories.get(code);
  return category ? category.nameId : code;
}

function statusLabel(code) {
  const status = STATUS_BY_CODE.get(code);
  return status ? status.label : code;
}

function refreshReports(map) {
  state.tilesVersion += 1;
  map.getSource('reports').setTiles([reportTilesUrl()]);
}

function buildFilters(map, live) {
  const select = document.getElementById('category-filter');
  for (const category of state.categories.values()) {
    select.append(element('option', { value: category.code, title: category.nameEn }, category.nameId));
  }
  select.addEventListener('change', () => {
    state.selectedCategories = [...select.selectedOptions].map((option) => option.value);
    map.getSource('reports').setTiles([reportTilesUrl()]);
    live.update(liveVariables());
  });

  const fieldset = document.getElementById('status-filter');
  for (const status of STATUSES) {
    const box = element('input', { type: 'checkbox', value: status.code, checked: '' });
    box.addEventListener('change', () => {
      if (box.checked) {
        state.statuses.add(status.code);
      } else {
        state.statuses.delete(status.code);
      }
      map.getSource('reports').setTiles([reportTilesUrl()]);
    });
    const swatch = element('span', { class: 'swatch', style: `background:${status.color}` });
    fieldset.append(element('label', {}, box, swatch, status.label));
  }
}

async function showReport(id) {
  state.detailRequest += 1;
  const request = state.detailRequest;
  const section = document.getElementById('detail');
  const body = document.getElementById('detail-body');
  section.hidden = false;
  section.dataset.reportId = id;
  body.replaceChildren(element('p', { class: 'muted' }, 'Memuat…'));
  let report;
  try {
    report = (await graphql(REPORT_QUERY, { id })).report;
  } catch (error) {
    if (request === state.detailRequest) {
      body.replaceChildren(element('p', { class: 'error' }, `Laporan tidak dapat dimuat: ${error.message}`));
    }
    return;
  }
  if (request !== state.detailRequest) {
    return; // another click came after this one
  }
  if (!report) {
    body.replaceChildren(element('p', { class: 'muted' }, 'Laporan ini tidak tersedia untuk publik.'));
    return;
  }
  const swatch = element('span', { class: 'swatch', style: `background:${STATUS_BY_CODE.get(report.status)?.color}` });
  const children = [
    element(
      'dl',
      {},
      element('dt', {}, 'Kategori'),
      element('dd', { class: 'category' }, report.category.nameId),
      element('dt', {}, 'Status'),
      element('dd', { class: 'status' }, swatch, ' ', report.statusLabel),
      element('dt', {}, 'Kelurahan'),
      element('dd', { class: 'kelurahan' }, report.kelurahan.name),
      element('dt', {}, 'Dilaporkan'),
      element('dd', { class: 'created' }, dateFormat.format(new Date(report.createdAt))),
    ),
    element('p', { class: 'description' }, report.description),
  ];
  const photo = report.photos.find((p) => p.thumbnailUrl);
  if (photo) {
    children.push(element('img', { class: 'thumbnail', src: photo.thumbnailUrl, alt: 'Foto laporan' }));
  }
  body.replaceChildren(...children);
}

function liveVariables() {
  return {
    bbox: SERVICE_AREA,
    categories: state.selectedCategories.length ? state.selectedCategories : null,
  };
}

const LIVE_EVENT_LABELS = { CREATED: 'Laporan baru', STATUS_CHANGED: 'Status berubah', UPDATED: 'Laporan diperbarui' };

function addLiveEvent(map, event) {
  const report = event.report;
  const list = document.getElementById('live-events');
  if (event.kind === 'REMOVED') {
    // No longer public (hidden by a moderator, made confidential): the panel forgets it too.
    list.querySelectorAll(`li[data-report-id="${CSS.escape(report.id)}"]`).forEach((item) => item.remove());
    return;
  }
  const time = dateFormat.format(new Date(report.createdAt));
  const what = LIVE_EVENT_LABELS[event.kind] || 'Laporan diperbarui';
  const item = element(
    'li',
    { 'data-report-id': report.id, title: time },
    element('strong', {}, what),
    `: ${categoryName(report.category)} — ${statusLabel(report.status)}`,
  );
  item.addEventListener('click', () => {
    map.flyTo({ center: [report.lon, report.lat], zoom: Math.max(map.getZoom(), 16) });
    showReport(report.id);
  });
  list.prepend(item);
  while (list.children.length > LIVE_EVENTS_SHOWN) {
    list.lastElementChild.remove();
  }
}

function startLive(map) {
  const badge = document.getElementById('live-state');
  const labels = { connecting: 'menghubungkan', open: 'tersambung', retrying: 'mencoba lagi' };
  let refreshTimer = null;
  const scheduleRefresh = () => {
    // A burst of events reloads the tiles once.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refreshReports(map), REFRESH_DELAY_MS);
  };
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new LiveSubscription({
    url: `${scheme}//${location.host}/graphql`,
    query: EVENTS_SUBSCRIPTION,
    variables: liveVariables(),
    onData: (data) => {
      addLiveEvent(map, data.reportEvents);
      scheduleRefresh();
    },
    onState: (connection, resumed) => {
      badge.dataset.state = connection;
      badge.textContent = labels[connection];
      if (resumed) {
        scheduleRefresh(); // events may have been missed while disconnected
      }
    },
  });
}

function wireInteractions(map) {
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 12 });
  const area = document.getElementById('area');
  let hovered = null;

  map.on('mousemove', 'kelurahan-fill', (e) => {
    const feature = e.features[0];
    if (hovered !== null && hovered !== feature.id) {
      map.setFeatureState({ source: 'kelurahan', sourceLayer: 'kelurahan', id: hovered }, { hover: false });
    }
    hovered = feature.id;
    map.setFeatureState({ source: 'kelurahan', sourceLayer: 'kelurahan', id: hovered }, { hover: true });
    area.textContent = `Kelurahan ${feature.properties.name}`;
  });
  map.on('mouseleave', 'kelurahan-fill', () => {
    if (hovered !== null) {
      map.setFeatureState({ source: 'kelurahan', sourceLayer: 'kelurahan', id: hovered }, { hover: false });
    }
    hovered = null;
  });

  map.on('mousemove', 'report-clusters', (e) => {
    const count = e.features[0].properties.count;
    popup
      .setLngLat(e.lngLat)
      .setText(`${count} laporan — klik untuk memperbesar`)
      .addTo(map);
  });
  map.on('mouseleave', 'report-clusters', () => popup.remove());
  map.on('click', 'report-clusters', (e) => {
    const [lon, lat] = e.features[0].geometry.coordinates;
    map.easeTo({ center: [lon, lat], zoom: Math.min(map.getZoom() + 2, POINTS_FROM_ZOOM + 1) });
  });

  for (const layer of ['report-clusters', 'report-points']) {
    map.on('mouseenter', layer, () => {
      map.getCanvas().style.cursor = 'pointer';
    });
    map.on('mouseleave', layer, () => {
      map.getCanvas().style.cursor = '';
    });
  }
  map.on('click', 'report-points', (e) => showReport(String(e.features[0].properties.id)));

  map.on('moveend', () => {
    const center = map.getCenter();
    const params = new URLSearchParams(location.search);
    params.set('lat', center.lat.toFixed(5));
    params.set('lon', center.lng.toFixed(5));
    params.set('zoom', map.getZoom().toFixed(2));
    history.replaceState(null, '', `${location.pathname}?${params}`);
  });
}

async function main() {
  const view = initialView(location.search);
  const map = new maplibregl.Map({
    container: 'map',
    style: mapStyle(),
    center: [view.lon, view.lat],
    zoom: view.zoom,
    minZoom: 9,
    maxZoom: 19,
    maxBounds: [
      [SERVICE_AREA.west - 0.3, SERVICE_AREA.south - 0.3],
      [SERVICE_AREA.east + 0.3, SERVICE_AREA.north + 0.3],
    ],
  });
  window.jscMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl());
  wireInteractions(map);

  try {
    for (const category of (await graphql(CATEGORIES_QUERY)).categories) {
      state.categories.set(category.code, category);
    }
  } catch (error) {
    console.warn('categories could not be loaded', error);
  }
  const live = startLive(map);
  buildFilters(map, live);
  live.start();
}

main();

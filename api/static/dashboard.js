// The auditor dashboard: a staff login (the tokens live in this page's memory only), the leaderboard of one
// level over a period with the parts of each score and the figures behind it, a unit's time series, and a map
// of the reports now past their deadline: every kelurahan filled by how many it has, the most overdue of them as
// points on top. Charts are Chart.js, the map MapLibre GL JS, both from /static/vendor/; the map has no internet
// basemap, the kelurahan polygons are its base layer.

const maplibregl = window.maplibregl;
const Chart = window.Chart;

const DEFAULT_DAYS = 30;
const TOP_SCORES = 20;
const QUEUE_PAGE = 100; // workQueue's largest page
const QUEUE_PAGES = 10; // at most 1,000 overdue reports on the map
// All of Jakarta's kelurahan, Kepulauan Seribu's islands (up to 5.2° S, 106.39° E) too.
const SERVICE_AREA = { west: 106.35, south: -6.5, east: 107.1, north: -5.15 };
const OVERDUE_LAYER = 'overdue-reports';
const KELURAHAN_LAYER = 'kelurahan-fill';
const CHOROPLETH_LAYER = 'overdue-kelurahan';
const BASE_FILL = '#f6f4ee';

// Hours past the deadline; the map colours each report by the first band it falls in.
const LATENESS = [
  { below: 24, label: '< 1 hari (day)', color: '#f4c542' },
  { below: 72, label: '1–3 hari', color: '#e8862a' },
  { below: 168, label: '3–7 hari', color: '#d0452b' },
  { below: Infinity, label: '> 7 hari', color: '#7b1d1d' },
];

// Overdue reports in a kelurahan; the map fills each kelurahan with the last band it reaches. Blues, so that the
// yellow-to-red points stay readable on top.
const CHOROPLETH = [
  { from: 1, label: '1–9', color: '#c6dbef' },
  { from: 10, label: '10–49', color: '#6baed6' },
  { from: 50, label: '50–199', color: '#2171b5' },
  { from: 200, label: '≥ 200', color: '#08306b' },
];

// The score's parts as the API names them (domain/performance.py); an unknown name is shown as it is.
const COMPONENT_LABELS = {
  completion: ['Penyelesaian', 'completion'],
  completionOnTime: ['Selesai tepat waktu', 'completed on time'],
  responseOnTime: ['Respons tepat waktu', 'responded on time'],
  notReopened: ['Tidak dibuka ulang', 'not reopened'],
  rating: ['Penilaian warga', 'citizen rating'],
};

const LOG_IN = /* GraphQL */ `mutation DashboardLogIn($login: String!, $password: String!) {
  logIn(login: $login, password: $password) {
    session { accessToken refreshToken user { displayName role } }
    errors { code message }
  }
}`;
const REFRESH = /* GraphQL */ `mutation DashboardRefresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) {
    session { accessToken refreshToken }
    errors { code message }
  }
}`;
const LOG_OUT = /* GraphQL */ `mutation DashboardLogOut($refreshToken: String!) { logOut(refreshToken: $refreshToken) { ok } }`;
const CATEGORIES = /* GraphQL */ `query DashboardCategories { categories { code nameId nameEn } }`;
const LEADERBOARD = /* GraphQL */ `query DashboardLeaderboard(
  $level: PerformanceLevel!, $since: Date!, $until: Date!, $category: String
) {
  leaderboard(level: $level, since: $since, until: $until, category: $category) {
    level since until minReports
    entries {
      rank score unrankedReason
      unit { id code name }
      components { name weight value }
      figures {
        received assessed completionRate medianResponseHours
        responseWithinSlaRate completionWithinSlaRate reopenRate meanRating ratings
      }
    }
  }
}`;
const TIME_SERIES = /* GraphQL */ `query DashboardTimeSeries(
  $unitId: ID!, $interval: TimeInterval!, $since: Date!, $until: Date!, $category: String
) {
  unitTimeSeries(unitId: $unitId, interval: $interval, since: $since, until: $until, category: $category) {
    interval
    unit { id name }
    points { start figures { received completed completionRate responseWithinSlaRate } }
  }
}`;
const OVERDUE = /* GraphQL */ `query DashboardOverdue($filter: WorkQueueFilter, $first: Int!, $after: String) {
  workQueue(filter: $filter, first: $first, after: $after) {
    edges {
      node {
        id dueAt statusLabel
        location { lat lon }
        category { nameId nameEn }
        kelurahan { name }
        unit { name }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;
const KELURAHAN_OVERDUE = /* GraphQL */ `query DashboardKelurahanOverdue {
  overdueByKelurahan { kelurahanCode kelurahanName reports oldestDueAt }
}`;

const percent = new Intl.NumberFormat('id-ID', { style: 'percent', maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 1 });
const integer = new Intl.NumberFormat('id-ID');
const score = new Intl.NumberFormat('id-ID', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat('id-ID', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Jakarta' });
const BUCKET_LABELS = {
  DAY: new Intl.DateTimeFormat('id-ID', { day: 'numeric', month: 'short', timeZone: 'UTC' }),
  WEEK: new Intl.DateTimeFormat('id-ID', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }),
  MONTH: new Intl.DateTimeFormat('id-ID', { month: 'short', year: 'numeric', timeZone: 'UTC' }),
};

// The session: never written to storage, so closing the tab ends it.
const session = { accessToken: null, refreshToken: null, viewer: null, refreshing: null };

const state = {
  board: null, // the last leaderboard answer
  topUnits: [], // the entries behind the bars of the top-scores chart
  selected: null, // {id, name} of the unit whose time series is shown
  requests: { board: 0, series: 0, overdue: 0 }, // a newer request makes an older answer stale
  topChart: null,
  seriesChart: null,
  map: null,
  mapLoaded: null,
  popup: null,
  overdueByCode: new Map(), // kelurahan code -> its overdueByKelurahan row
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.code = errors[0]?.extensions?.code ?? 'ERROR';
  }
}

function apiError(code, message) {
  return new ApiError([{ message, extensions: { code } }]);
}

async function post(query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw apiError('NETWORK_ERROR', `The API cannot be reached (${error.message}).`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: reported below with the HTTP status
  }
  if (body?.errors?.length) {
    throw new ApiError(body.errors);
  }
  if (!response.ok || !body?.data) {
    throw apiError(`HTTP_${response.status}`, `The API answered HTTP ${response.status}.`);
  }
  return body.data;
}

// Queries that start together after the access token expired share one refresh: presenting a refresh token
// twice revokes the whole session.
function refreshSession(expiredToken) {
  if (session.accessToken !== expiredToken) {
    return Promise.resolve();
  }
  if (!session.refreshing) {
    const refreshToken = session.refreshToken;
    session.refreshing = post(REFRESH, { refreshToken })
      .then((data) => {
        const payload = data.refreshToken;
        if (payload.errors.length || session.refreshToken !== refreshToken) {
          throw apiError('UNAUTHENTICATED', 'Sesi berakhir (the session has expired): please log in again.');
        }
        session.accessToken = payload.session.accessToken;
        session.refreshToken = payload.session.refreshToken;
      })
      .finally(() => {
        session.refreshing = null;
      });
  }
  return session.refreshing;
}

async function staffQuery(query, variables) {
  const token = session.accessToken;
  if (!token) {
    throw apiError('UNAUTHENTICATED', 'Not logged in.');
  }
  try {
    return await post(query, variables, token);
  } catch (error) {
    if (error.code !== 'UNAUTHENTICATED' || !session.refreshToken) {
      throw error;
    }
    await refreshSession(token);
    return post(query, variables, session.accessToken);
  }
}

// --- small helpers ------------------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) {
      node.setAttribute(name, value);
    }
  }
  node.append(...children);
  return node;
}

function jakartaToday() {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Jakarta',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

const asPercent = (value) => (value === null || value === undefined ? '—' : percent.format(value));
const asNumber = (value) => (value === null || value === undefined ? '—' : decimal.format(value));

function showMessage(id, error) {
  const node = $(id);
  node.dataset.code = error.code;
  node.textContent = `${error.code}: ${error.message}`;
  node.hidden = false;
}

function clearMessage(id) {
  const node = $(id);
  node.hidden = true;
  node.textContent = '';
  delete node.dataset.code;
}

function showLoginMessage(code, text) {
  const node = $('login-message');
  node.dataset.code = code;
  node.textContent = text;
  node.hidden = false;
}

// A failed staff query: an ended session sends the viewer back to the login form, anything else shows where
// it happened.
async function failed(where, error) {
  if (error.code === 'UNAUTHENTICATED') {
    await endSession();
    showLoginMessage('UNAUTHENTICATED', 'Sesi berakhir (the session has expired): please log in again.');
    return;
  }
  showMessage(where, error);
}

// --- controls ---------------------------------------------------------------------------------------------

function setDefaultPeriod() {
  const today = jakartaToday();
  $('until').value = today;
  $('since').value = addDays(today, 1 - DEFAULT_DAYS);
}

function controls() {
  return {
    level: $('level').value,
    since: $('since').value,
    until: $('until').value,
    category: $('category').value || null,
  };
}

async function loadCategories() {
  const select = $('category');
  try {
    for (const category of (await post(CATEGORIES, {})).categories) {
      select.append(element('option', { value: category.code }, `${category.nameId} (${category.nameEn})`));
    }
  } catch (error) {
    showMessage('leaderboard-error', error);
  }
}

// --- leaderboard ------------------------------------------------------------------------------------------

async function fetchLeaderboard() {
  const wanted = controls();
  if (!wanted.since || !wanted.until) {
    throw apiError('BAD_USER_INPUT', 'Choose both dates of the period.');
  }
  return (await staffQuery(LEADERBOARD, wanted)).leaderboard;
}

async function loadLeaderboard() {
  const request = ++state.requests.board;
  const section = $('leaderboard-section');
  section.setAttribute('aria-busy', 'true');
  clearMessage('leaderboard-error');
  try {
    const board = await fetchLeaderboard();
    if (request === state.requests.board) {
      showLeaderboard(board);
    }
  } catch (error) {
    if (request === state.requests.board) {
      await failed('leaderboard-error', error);
    }
  } finally {
    if (request === state.requests.board) {
      section.removeAttribute('aria-busy');
    }
  }
}

function header(indonesian, english, attributes = {}) {
  return element('th', { scope: 'col', ...attributes }, indonesian, element('span', { class: 'en' }, english));
}

function componentNames(board) {
  const first = board.entries[0];
  return first ? first.components.map((c) => ({ name: c.name, weight: c.weight })) : [];
}

function leaderboardHead(components) {
  const row = element(
    'tr',
    {},
    header('Peringkat', 'rank'),
    header('Unit', 'unit'),
    header('Skor', 'score 0–100'),
  );
  for (const { name, weight } of components) {
    const [indonesian, english] = COMPONENT_LABELS[name] ?? [name, name];
    row.append(
      header(indonesian, `${english} · ${percent.format(weight)}`, { class: 'component', 'data-component': name }),
    );
  }
  row.append(
    header('Diterima', 'received'),
    header('Dinilai', 'assessed'),
    header('Tingkat selesai', 'completion rate'),
    header('Median respons', 'median response, h'),
    header('Respons ≤ SLA', 'response within SLA'),
    header('Selesai ≤ SLA', 'completion within SLA'),
    header('Dibuka ulang', 'reopen rate'),
    header('Rating', 'mean, 1–5'),
  );
  return row;
}

function leaderboardRow(entry, components) {
  const f = entry.figures;
  const ranked = entry.rank !== null;
  const unitCell = element(
    'th',
    { scope: 'row', class: 'unit' },
    element('button', { type: 'button', class: 'unit-button', title: entry.unit.code }, entry.unit.name),
  );
  if (!ranked) {
    unitCell.append(element('span', { class: 'reason' }, entry.unrankedReason ?? 'not ranked'));
  }
  const values = new Map(entry.components.map((c) => [c.name, c.value]));
  const row = element(
    'tr',
    {
      class: ranked ? 'ranked' : 'unranked',
      'data-unit-id': entry.unit.id,
      'data-unit-code': entry.unit.code,
      'aria-current': state.selected?.id === entry.unit.id ? 'true' : null,
    },
    element('td', { class: 'rank' }, ranked ? String(entry.rank) : '—'),
    unitCell,
    element('td', { class: 'score' }, entry.score === null ? '—' : score.format(entry.score)),
  );
  for (const { name } of components) {
    row.append(element('td', { class: 'component', 'data-component': name }, asPercent(values.get(name))));
  }
  const rating = f.meanRating === null ? '—' : `${decimal.format(f.meanRating)} (${f.ratings})`;
  row.append(
    element('td', { class: 'received' }, String(f.received)),
    element('td', { class: 'assessed' }, String(f.assessed)),
    element('td', { class: 'completion-rate' }, asPercent(f.completionRate)),
    element('td', { class: 'median-response' }, f.medianResponseHours === null ? '—' : `${asNumber(f.medianResponseHours)} jam`),
    element('td', { class: 'response-sla' }, asPercent(f.responseWithinSlaRate)),
    element('td', { class: 'completion-sla' }, asPercent(f.completionWithinSlaRate)),
    element('td', { class: 'reopen-rate' }, asPercent(f.reopenRate)),
    element('td', { class: 'rating' }, rating),
  );
  return row;
}

function showLeaderboard(board) {
  state.board = board;
  const hideEmpty = $('hide-empty').checked;
  const shown = board.entries.filter((e) => !hideEmpty || e.figures.received > 0);
  const ranked = shown.filter((e) => e.rank !== null);
  const unranked = shown.filter((e) => e.rank === null);
  const components = componentNames(board);
  const columns = 3 + components.length + 8;

  const table = $('leaderboard');
  table.tHead.replaceChildren(leaderboardHead(components));
  const rows = ranked.map((e) => leaderboardRow(e, components));
  if (unranked.length) {
    rows.push(
      element(
        'tr',
        { class: 'group' },
        element('th', { scope: 'colgroup', colspan: String(columns) }, 'Tidak berperingkat (not ranked)'),
      ),
      ...unranked.map((e) => leaderboardRow(e, components)),
    );
  }
  if (!rows.length) {
    rows.push(
      element('tr', {}, element('td', { colspan: String(columns), class: 'empty' }, 'Tidak ada laporan (no reports).')),
    );
  }
  table.tBodies[0].replaceChildren(...rows);

  const hidden = board.entries.length - shown.length;
  const rankedAll = board.entries.filter((e) => e.rank !== null).length;
  $('leaderboard-summary').textContent =
    `${board.since} – ${board.until}: ${rankedAll} of ${board.entries.length} units ranked ` +
    `(a unit needs at least ${board.minReports} assessed reports)` +
    (hidden ? `; ${hidden} units without reports hidden.` : '.');
  showTopScores(board);

  if (state.selected && !board.entries.some((e) => e.unit.id === state.selected.id)) {
    clearSeries();
  }
}

function showTopScores(board) {
  const top = board.entries.filter((e) => e.rank !== null).slice(0, TOP_SCORES);
  const box = $('top-chart-box');
  box.hidden = top.length === 0;
  // One bar is about 24 px high; the box sets the chart's height (maintainAspectRatio: false).
  box.style.height = `${Math.max(140, 24 * top.length + 60)}px`;
  const colors = top.map((e) => (e.unit.id === state.selected?.id ? '#d35400' : '#1f5fa8'));
  if (!state.topChart) {
    state.topChart = new Chart($('top-chart'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'Skor (score)', data: [] }] },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 100, title: { display: true, text: 'Skor 0–100 (score)' } } },
        plugins: {
          legend: { display: false },
          title: { display: true, text: `Skor ${TOP_SCORES} unit teratas (top ${TOP_SCORES} scores)` },
          tooltip: {
            callbacks: { label: (item) => `Skor ${score.format(item.parsed.x)} · peringkat ${state.topUnits[item.dataIndex].rank}` },
          },
        },
        onClick: (_event, elements) => {
          if (elements.length) {
            selectUnit(state.topUnits[elements[0].index].unit);
          }
        },
      },
    });
  }
  state.topUnits = top;
  state.topChart.data.labels = top.map((e) => e.unit.name);
  state.topChart.data.datasets[0].data = top.map((e) => e.score);
  state.topChart.data.datasets[0].backgroundColor = colors;
  state.topChart.update();
}

// --- time series ------------------------------------------------------------------------------------------

function markSelected() {
  for (const row of $('leaderboard').tBodies[0].rows) {
    if (row.dataset.unitId === state.selected?.id) {
      row.setAttribute('aria-current', 'true');
    } else {
      row.removeAttribute('aria-current');
    }
  }
  if (state.board) {
    showTopScores(state.board);
  }
}

function selectUnit(unit) {
  state.selected = { id: unit.id, name: unit.name };
  $('series-unit').textContent = `— ${unit.name}`;
  markSelected();
  loadSeries();
}

function clearSeries() {
  state.selected = null;
  state.requests.series += 1;
  $('series-unit').textContent = '— pilih unit di tabel (choose a unit in the table)';
  $('series-section').dataset.state = 'empty';
  if (state.seriesChart) {
    state.seriesChart.destroy();
    state.seriesChart = null;
  }
  markSelected();
}

async function loadSeries() {
  if (!state.selected) {
    return;
  }
  const request = ++state.requests.series;
  const section = $('series-section');
  section.dataset.state = 'loading';
  clearMessage('series-error');
  const { since, until, category } = controls();
  const variables = { unitId: state.selected.id, interval: $('interval').value, since, until, category };
  try {
    const series = (await staffQuery(TIME_SERIES, variables)).unitTimeSeries;
    if (request === state.requests.series) {
      showSeries(series);
      section.dataset.state = 'ready';
    }
  } catch (error) {
    if (request === state.requests.series) {
      section.dataset.state = 'error';
      await failed('series-error', error);
    }
  }
}

function rate(value) {
  return value === null ? null : Math.round(value * 1000) / 10;
}

function showSeries(series) {
  const labels = series.points.map((p) => BUCKET_LABELS[series.interval].format(new Date(`${p.start}T00:00:00Z`)));
  const datasets = [
    {
      label: 'Diterima (received)',
      data: series.points.map((p) => p.figures.received),
      backgroundColor: '#8fb3dc',
      yAxisID: 'count',
      order: 2,
    },
    {
      label: 'Selesai (completed)',
      data: series.points.map((p) => p.figures.completed),
      backgroundColor: '#1e8449',
      yAxisID: 'count',
      order: 2,
    },
    {
      type: 'line',
      label: 'Tingkat selesai (completion rate) %',
      data: series.points.map((p) => rate(p.figures.completionRate)),
      borderColor: '#d35400',
      backgroundColor: '#d35400',
      yAxisID: 'rate',
      order: 1,
    },
    {
      type: 'line',
      label: 'Respons ≤ SLA (response within SLA) %',
      data: series.points.map((p) => rate(p.figures.responseWithinSlaRate)),
      borderColor: '#8e44ad',
      backgroundColor: '#8e44ad',
      borderDash: [6, 4],
      yAxisID: 'rate',
      order: 1,
    },
  ];
  if (state.seriesChart) {
    state.seriesChart.data.labels = labels;
    state.seriesChart.data.datasets = datasets;
    state.seriesChart.update();
    return;
  }
  state.seriesChart = new Chart($('series-chart'), {
    type: 'bar',
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      elements: { point: { radius: 3 } },
      scales: {
        count: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          ticks: { precision: 0 },
          title: { display: true, text: 'Laporan (reports)' },
        },
        rate: {
          type: 'linear',
          position: 'right',
          min: 0,
          max: 100,
          grid: { drawOnChartArea: false },
          ticks: { callback: (value) => `${value}%` },
          title: { display: true, text: 'Tingkat (rate) %' },
        },
      },
      plugins: {
        // Counts first in the legend, whatever order the datasets are drawn in.
        legend: { labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        // A bucket without reports has no rate: the lines break there rather than claim 0 %.
        tooltip: {
          callbacks: {
            label: (item) =>
              item.dataset.yAxisID === 'rate'
                ? `${item.dataset.label}: ${item.parsed.y === null ? '—' : `${decimal.format(item.parsed.y)}%`}`
                : `${item.dataset.label}: ${item.parsed.y}`,
          },
        },
      },
    },
  });
}

// --- overdue map ------------------------------------------------------------------------------------------

// The choropleth's filter and fill colour for overdueByKelurahan's rows by code: a `match` on the tiles' `code`
// gives each kelurahan its count, so tiles loaded later are filled too; kelurahan without overdue reports are
// left out of the layer and keep the base fill.
function choropleth(byCode) {
  let count = ['literal', 0]; // not a bare 0: ['>', 0, 0] would be read as a legacy filter on a property
  if (byCode.size) {
    count = ['match', ['get', 'code']];
    for (const [code, row] of byCode) {
      count.push(code, row.reports);
    }
    count.push(0);
  }
  const color = ['step', count, BASE_FILL];
  for (const band of CHOROPLETH) {
    color.push(band.from, band.color);
  }
  return { filter: ['>', count, 0], color };
}

function showChoropleth(byCode) {
  state.overdueByCode = byCode;
  const { filter, color } = choropleth(byCode);
  state.map.setFilter(CHOROPLETH_LAYER, filter);
  state.map.setPaintProperty(CHOROPLETH_LAYER, 'fill-color', color);
}

function mapStyle() {
  const lateness = ['step', ['get', 'hoursLate'], LATENESS[0].color];
  for (let i = 1; i < LATENESS.length; i += 1) {
    lateness.push(LATENESS[i - 1].below, LATENESS[i].color);
  }
  const empty = choropleth(new Map());
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
      overdue: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#d9e4ec' } },
      {
        id: 'kelurahan-fill',
        type: 'fill',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        paint: { 'fill-color': BASE_FILL },
      },
      {
        id: CHOROPLETH_LAYER,
        type: 'fill',
        source: 'kelurahan',
        'source-layer': 'kelurahan',
        filter: empty.filter,
        paint: { 'fill-color': empty.color },
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
        id: OVERDUE_LAYER,
        type: 'circle',
        source: 'overdue',
        paint: {
          'circle-color': lateness,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      },
    ],
  };
}

function buildLegend() {
  const legend = $('overdue-legend');
  for (const band of LATENESS) {
    legend.append(
      element('li', {}, element('span', { class: 'swatch', style: `background:${band.color}` }), band.label),
    );
  }
  const areas = $('kelurahan-legend');
  for (const band of [{ label: '0', color: BASE_FILL }, ...CHOROPLETH]) {
    areas.append(
      element('li', {}, element('span', { class: 'swatch area', style: `background:${band.color}` }), band.label),
    );
  }
}

function lateText(hours) {
  return hours < 48 ? `${decimal.format(hours)} jam (hours)` : `${decimal.format(hours / 24)} hari (days)`;
}

function ensureMap() {
  if (state.map) {
    state.map.resize(); // the page was hidden while logged out
    return;
  }
  const map = new maplibregl.Map({
    container: 'overdue-map',
    style: mapStyle(),
    center: [106.83, -6.2],
    zoom: 10,
    minZoom: 8, // the mainland and the islands' overdue reports in one view
    maxZoom: 19,
    // Wide to the sides: a view of a wide box (1322 x 480 px) that holds the islands and the mainland together
    // spans about 3.5 degrees of longitude, and the view must stay inside these bounds.
    maxBounds: [
      [SERVICE_AREA.west - 1.5, SERVICE_AREA.south - 0.3],
      [SERVICE_AREA.east + 1.5, SERVICE_AREA.north + 0.3],
    ],
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  state.map = map;
  state.mapLoaded = new Promise((resolve) => map.once('load', resolve));
  window.jscOverdueMap = map;

  // One click handler for both layers, so that a click on a point does not also open its kelurahan's popup.
  map.on('click', (e) => {
    const [report] = map.queryRenderedFeatures(e.point, { layers: [OVERDUE_LAYER] });
    if (report) {
      openPopup(report.geometry.coordinates, reportPopup(report.properties));
      return;
    }
    const [kelurahan] = map.queryRenderedFeatures(e.point, { layers: [KELURAHAN_LAYER] });
    if (kelurahan) {
      openPopup(e.lngLat, kelurahanPopup(kelurahan.properties, Date.now()));
    }
  });
  for (const layer of [OVERDUE_LAYER, KELURAHAN_LAYER]) {
    map.on('mouseenter', layer, () => {
      map.getCanvas().style.cursor = 'pointer';
    });
    map.on('mouseleave', layer, () => {
      map.getCanvas().style.cursor = '';
    });
  }
}

// A new popup each time: a popup reused while open would be closed again by its own close-on-click, which
// MapLibre calls after this click's handler.
function openPopup(lngLat, body) {
  state.popup?.remove();
  state.popup = new maplibregl.Popup({ offset: 10, maxWidth: '320px' })
    .setLngLat(lngLat)
    .setDOMContent(body)
    .addTo(state.map);
}

function reportPopup(p) {
  return element(
    'div',
    { class: 'popup report-popup' },
    element('strong', { class: 'category' }, p.category),
    element('span', { class: 'muted' }, ` (${p.categoryEn})`),
    element(
      'dl',
      {},
      element('dt', {}, 'Kelurahan'),
      element('dd', { class: 'kelurahan' }, p.kelurahan),
      element('dt', {}, 'Status'),
      element('dd', {}, p.status),
      element('dt', {}, 'Unit'),
      element('dd', {}, p.unit),
      element('dt', {}, 'Tenggat (due)'),
      element('dd', {}, p.dueAt ? dateTime.format(new Date(p.dueAt)) : '—'),
      element('dt', {}, 'Terlambat (late)'),
      element('dd', {}, lateText(p.hoursLate)),
    ),
  );
}

function kelurahanPopup(p, now) {
  const row = state.overdueByCode.get(p.code);
  const oldest = row
    ? element('time', { datetime: row.oldestDueAt }, dateTime.format(new Date(row.oldestDueAt)))
    : '—';
  const days = row ? Math.max(0, now - Date.parse(row.oldestDueAt)) / 86_400_000 : null;
  return element(
    'div',
    { class: 'popup kelurahan-popup', 'data-code': p.code },
    element('strong', { class: 'name' }, row?.kelurahanName ?? p.name),
    element('span', { class: 'muted' }, ` ${p.code}`),
    element(
      'dl',
      {},
      element('dt', {}, 'Terlambat (overdue)'),
      element('dd', { class: 'reports' }, integer.format(row?.reports ?? 0)),
      element('dt', {}, 'Tenggat tertua (oldest due)'),
      element('dd', { class: 'oldest' }, oldest),
      element('dt', {}, 'Lewat (late by)'),
      element('dd', { class: 'late' }, days === null ? '—' : `${decimal.format(days)} hari (days)`),
    ),
  );
}

async function fetchOverdue(category) {
  const nodes = [];
  let after = null;
  for (let page = 0; page < QUEUE_PAGES; page += 1) {
    const variables = { filter: { overdue: true, category }, first: QUEUE_PAGE, after };
    const queue = (await staffQuery(OVERDUE, variables)).workQueue;
    nodes.push(...queue.edges.map((edge) => edge.node));
    if (!queue.pageInfo.hasNextPage) {
      return { nodes, more: false };
    }
    after = queue.pageInfo.endCursor;
  }
  return { nodes, more: true };
}

function overdueFeatures(nodes, now) {
  return nodes.map((node) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [node.location.lon, node.location.lat] },
    properties: {
      id: node.id,
      category: node.category.nameId,
      categoryEn: node.category.nameEn,
      kelurahan: node.kelurahan.name,
      status: node.statusLabel,
      unit: node.unit.name,
      dueAt: node.dueAt,
      hoursLate: node.dueAt ? Math.max(0, (now - Date.parse(node.dueAt)) / 3_600_000) : 0,
    },
  }));
}

async function fetchKelurahanOverdue() {
  const byCode = new Map();
  for (const row of (await staffQuery(KELURAHAN_OVERDUE, {})).overdueByKelurahan) {
    byCode.set(row.kelurahanCode, row);
  }
  return byCode;
}

// The choropleth counts every category (overdueByKelurahan has no filter), the points only the chosen one.
function overdueCaption(byCode, points, more, category) {
  const total = [...byCode.values()].reduce((sum, row) => sum + row.reports, 0);
  const of = category ? ` in category ${category}` : '';
  const drawn = more
    ? `the ${integer.format(points)} most overdue${of} are drawn as points`
    : `${integer.format(points)}${of} ${points === 1 ? 'is' : 'are'} drawn as points`;
  return {
    total,
    text:
      `Seluruh kota: ${integer.format(total)} laporan terlambat di ${integer.format(byCode.size)} kelurahan ` +
      `(city-wide: overdue reports in all categories); ${drawn}.`,
  };
}

async function loadOverdue() {
  const request = ++state.requests.overdue;
  const summary = $('overdue-summary');
  summary.dataset.state = 'loading';
  summary.textContent = 'Memuat… (loading)';
  clearMessage('overdue-error');
  const category = controls().category;
  const categoryName = category ? $('category').selectedOptions[0].textContent : null;
  try {
    const [byCode, { nodes, more }] = await Promise.all([fetchKelurahanOverdue(), fetchOverdue(category)]);
    await state.mapLoaded;
    if (request !== state.requests.overdue) {
      return;
    }
    showChoropleth(byCode);
    const features = overdueFeatures(nodes, Date.now());
    state.map.getSource('overdue').setData({ type: 'FeatureCollection', features });
    if (features.length) {
      const bounds = new maplibregl.LngLatBounds();
      for (const feature of features) {
        bounds.extend(feature.geometry.coordinates);
      }
      state.map.fitBounds(bounds, { padding: 40, maxZoom: 15, animate: false });
    }
    const caption = overdueCaption(byCode, features.length, more, categoryName);
    summary.dataset.count = String(features.length);
    summary.dataset.total = String(caption.total);
    summary.dataset.kelurahan = String(byCode.size);
    summary.dataset.state = 'ready';
    summary.textContent = caption.text;
  } catch (error) {
    if (request === state.requests.overdue) {
      summary.dataset.state = 'error';
      summary.textContent = '';
      await failed('overdue-error', error);
    }
  }
}

// --- session ----------------------------------------------------------------------------------------------

async function endSession() {
  const refreshToken = session.refreshToken;
  session.accessToken = null;
  session.refreshToken = null;
  session.viewer = null;
  for (const name of Object.keys(state.requests)) {
    state.requests[name] += 1;
  }
  state.board = null;
  clearSeries();
  if (state.topChart) {
    state.topChart.destroy();
    state.topChart = null;
  }
  $('leaderboard').tHead.replaceChildren();
  $('leaderboard').tBodies[0].replaceChildren();
  if (state.map?.getSource('overdue')) {
    state.map.getSource('overdue').setData({ type: 'FeatureCollection', features: [] });
    showChoropleth(new Map());
  }
  state.popup?.remove();
  $('app').hidden = true;
  $('session').hidden = true;
  $('login').hidden = false;
  $('login-password').value = '';
  if (refreshToken) {
    try {
      await post(LOG_OUT, { refreshToken });
    } catch {
      // the access token expires by itself within minutes
    }
  }
}

async function logIn(event) {
  event.preventDefault();
  const login = $('login-email').value.trim();
  const password = $('login-password').value;
  if (!login || !password) {
    showLoginMessage('MISSING', 'Isi e-mail dan kata sandi (enter your e-mail and password).');
    return;
  }
  const button = $('login-submit');
  button.disabled = true;
  $('login-message').hidden = true;
  try {
    const payload = (await post(LOG_IN, { login, password })).logIn;
    if (payload.errors.length) {
      const code = payload.errors[0].code;
      const text =
        code === 'INVALID_CREDENTIALS'
          ? 'E-mail atau kata sandi salah (wrong e-mail or password).'
          : `${code}: ${payload.errors[0].message}`;
      showLoginMessage(code, text);
      return;
    }
    session.accessToken = payload.session.accessToken;
    session.refreshToken = payload.session.refreshToken;
    session.viewer = payload.session.user;
    await openDashboard();
  } catch (error) {
    showLoginMessage(error.code, `${error.code}: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

// The first leaderboard doubles as the staff check: a citizen's token gets FORBIDDEN, and the dashboard does
// not open.
async function openDashboard() {
  let board;
  try {
    board = await fetchLeaderboard();
  } catch (error) {
    if (error.code !== 'FORBIDDEN') {
      throw error;
    }
    await endSession();
    showLoginMessage(
      'FORBIDDEN',
      'Akun ini bukan akun petugas (this account is not a staff account): the dashboard is for officers, ' +
        'auditors and administrators.',
    );
    return;
  }
  $('login').hidden = true;
  $('login-message').hidden = true;
  $('app').hidden = false;
  $('session').hidden = false;
  $('viewer').textContent = `${session.viewer.displayName} (${session.viewer.role})`;
  showLeaderboard(board);
  ensureMap();
  loadOverdue();
}

function apply(event) {
  event.preventDefault();
  loadLeaderboard().then(() => {
    if (state.selected) {
      loadSeries();
    }
  });
  loadOverdue();
}

function main() {
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  setDefaultPeriod();
  buildLegend();
  loadCategories();
  $('login-form').addEventListener('submit', logIn);
  $('controls').addEventListener('submit', apply);
  $('logout').addEventListener('click', async () => {
    await endSession();
    showLoginMessage('LOGGED_OUT', 'Anda telah keluar (you are logged out).');
  });
  $('hide-empty').addEventListener('change', () => {
    if (state.board) {
      showLeaderboard(state.board);
    }
  });
  $('interval').addEventListener('change', loadSeries);
  $('leaderboard').tBodies[0].addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-unit-id]');
    if (row) {
      selectUnit({ id: row.dataset.unitId, name: row.querySelector('.unit-button').textContent });
    }
  });
}

main();

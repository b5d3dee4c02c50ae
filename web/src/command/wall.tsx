// The wall: key figures, the map, the alert feed, the reports just filed, the floodgates, the statistics and the
// latest snapshots, on one screen. Live: the CCTV alerts and the report events come over two subscriptions; an
// alert is added to the feed and the cameras are read again, a report event refreshes the map's report tiles and
// the figures. Each time a subscription (re)opens, after a lost connection or a RESYNC_REQUIRED, everything is
// read again, so nothing missed meanwhile stays missing.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type {
  WallAlertsQuery,
  WallCamerasQuery,
  WallChoicesQuery,
  WallFloodgatesQuery,
  WallStatsQuery as WallStatsResult,
} from '../gql/graphql';
import { load } from '../shared/data';
import { formatDateTime, language } from '../shared/i18n';
import { Live, type LiveState } from '../shared/live';
import { session } from '../shared/session';
import { useSignal } from '../shared/signal';
import { statusLabel } from '../shared/strings';
import { ErrorMessage, LanguageSwitch, SavedAt } from '../shared/ui';
import { type CameraPoint, type NewReport, WallMap } from './map';
import {
  WallAlertRaised,
  WallAlerts,
  WallCameras,
  WallChoices,
  WallFloodgates,
  WallReportEvents,
  WallStatsQuery,
} from './queries';
import { ALL_STATUSES, cameraState, type Filter, NO_FILTER, sparkline, statsFilter } from './state';
import { type CommandKey, t } from './strings';

type Camera = WallCamerasQuery['cameras'][number];
type Alert = WallAlertsQuery['cctvAlerts'][number];
type Stats = WallStatsResult['wallStats'];
type Gate = WallFloodgatesQuery['floodgateLevels'][number];
type Choices = WallChoicesQuery;
type Fresh = NewReport & { category: string; createdAt: string };

const ALERTS_SHOWN = 50;
const FRESH_SHOWN = 20;
const SERIES_HOURS = 24;
const KINDS = ['FLOODGATE', 'RIVER', 'ROAD', 'INTERSECTION', 'PUBLIC_SPACE'] as const;
/** Coalesces a burst of live events into one read of the figures. */
const SETTLE_MS = 400;
/** Overdue figures move with the clock too. */
const REFRESH_MS = 60_000;

const numberFormat = () => new Intl.NumberFormat(language.get() === 'id' ? 'id-ID' : 'en-GB');

function Figure(props: { label: string; value: number | null; tone?: string }) {
  return (
    <div class={`figure ${props.tone ?? ''}`}>
      <dt>{props.label}</dt>
      <dd>{props.value === null ? '–' : numberFormat().format(props.value)}</dd>
    </div>
  );
}

function Filters(props: { choices: Choices | null; filter: Filter; onChange: (filter: Filter) => void }) {
  const english = useSignal(language) === 'en';
  const set = (key: keyof Filter) => (event: Event) =>
    props.onChange({ ...props.filter, [key]: (event.currentTarget as HTMLSelectElement).value });
  // Labels by `for`, not wrapping: a wrapping label's name would take in the chosen option's text.
  return (
    <form class="filters" aria-label={t('filters.title')} onSubmit={(event) => event.preventDefault()}>
      <div class="filter">
        <label for="filter-agency">{t('filters.agency')}</label>
        <select id="filter-agency" value={props.filter.unitId} onChange={set('unitId')}>
          <option value="">{t('filters.all')}</option>
          {(props.choices?.units ?? []).map((unit) => (
            <option key={unit.id} value={unit.id}>
              {unit.name}
            </option>
          ))}
        </select>
      </div>
      <div class="filter">
        <label for="filter-category">{t('filters.category')}</label>
        <select id="filter-category" value={props.filter.category} onChange={set('category')}>
          <option value="">{t('filters.all')}</option>
          {(props.choices?.categories ?? []).map((category) => (
            <option key={category.code} value={category.code}>
              {english ? category.nameEn : category.nameId}
            </option>
          ))}
        </select>
      </div>
      <div class="filter">
        <label for="filter-status">{t('filters.status')}</label>
        <select id="filter-status" value={props.filter.status} onChange={set('status')}>
          <option value="">{t('filters.all')}</option>
          <option value="OPEN">{t('filters.open')}</option>
          {ALL_STATUSES.map((status) => (
            <option key={status} value={status}>
              {statusLabel(status)}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}

// The panels scroll within their cells on a desk screen: focusable, so the keyboard can scroll them too.
function StatsTable(props: { title: string; id: string; rows: Stats['byKota'] }) {
  const format = numberFormat();
  return (
    <section class="panel" aria-labelledby={props.id} tabIndex={0}>
      <h2 id={props.id}>{props.title}</h2>
      {props.rows.length === 0 ? (
        <p class="muted">{t('stats.none')}</p>
      ) : (
        <table class="stats">
          <thead>
            <tr>
              <th scope="col">{t('stats.name')}</th>
              <th scope="col">{t('stats.open')}</th>
              <th scope="col">{t('stats.overdue')}</th>
              <th scope="col">{t('stats.today')}</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => (
              <tr key={row.key}>
                <th scope="row">{row.name}</th>
                <td>{format.format(row.open)}</td>
                <td class={row.overdue ? 'overdue' : ''}>{format.format(row.overdue)}</td>
                <td>{format.format(row.filedToday)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AlertFeed(props: { alerts: Alert[]; names: Map<string, string> }) {
  return (
    <section class="panel alerts" aria-labelledby="alerts-title" tabIndex={0}>
      <h2 id="alerts-title">{t('alerts.title')}</h2>
      {props.alerts.length === 0 ? <p class="muted">{t('alerts.none')}</p> : null}
      <ul class="feed" aria-labelledby="alerts-title">
        {props.alerts.map((alert) => {
          const camera = props.names.get(alert.cameraCode) ?? alert.cameraCode;
          return (
            <li key={alert.id} class={`alert alert-${alert.kind.toLowerCase()}`} data-alert-id={alert.id}>
              {alert.snapshotUrl ? (
                <img src={alert.snapshotUrl} alt={t('alerts.snapshot', { camera })} loading="lazy" />
              ) : null}
              <div>
                <p class="alert-kind">{t(`alerts.${alert.kind}` as CommandKey)}</p>
                <p>{camera}</p>
                <p class="muted">
                  <time dateTime={alert.createdAt}>{formatDateTime(alert.createdAt)}</time> ·{' '}
                  {t('alerts.value', { value: alert.value, threshold: alert.threshold })}
                </p>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function FreshReports(props: { fresh: Fresh[]; categories: Map<string, string> }) {
  return (
    <section class="panel" aria-labelledby="fresh-title" tabIndex={0}>
      <h2 id="fresh-title">{t('recent.title')}</h2>
      {props.fresh.length === 0 ? <p class="muted">{t('recent.none')}</p> : null}
      <ul class="feed" aria-labelledby="fresh-title">
        {props.fresh.map((report) => (
          <li key={report.id} data-report-id={report.id}>
            <span class="fresh-category">{props.categories.get(report.category) ?? report.category}</span>{' '}
            <time class="muted" dateTime={report.createdAt}>
              {formatDateTime(report.createdAt)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Floodgates(props: { gates: Gate[] | null }) {
  const format = numberFormat();
  return (
    <section class="panel floodgates" aria-labelledby="floodgates-title" tabIndex={0}>
      <h2 id="floodgates-title">{t('floodgates.title')}</h2>
      <p class="muted">{t('floodgates.note')}</p>
      {props.gates && props.gates.length === 0 ? <p class="muted">{t('floodgates.none')}</p> : null}
      <ul class="gates" aria-labelledby="floodgates-title">
        {(props.gates ?? []).map((gate) => {
          const points = sparkline(
            gate.series.map((reading) => reading.levelCm),
            120,
            32,
            gate.siaga1Cm,
          );
          const tone = gate.siaga ? `siaga-${gate.siaga}` : 'siaga-none';
          return (
            <li key={gate.camera.code} class={`gate ${tone}`}>
              <p class="gate-name">{gate.camera.name}</p>
              <p class="gate-level">
                {gate.levelCm === null ? t('floodgates.noLevel') : `${format.format(gate.levelCm)} cm`}
                {gate.levelCm !== null ? (
                  <span class="siaga-badge">
                    {gate.siaga ? t('floodgates.siaga', { level: gate.siaga }) : t('floodgates.normal')}
                  </span>
                ) : null}
              </p>
              <p class="muted">
                {gate.siaga3Cm !== null && gate.siaga2Cm !== null && gate.siaga1Cm !== null
                  ? t('floodgates.levels', { s3: gate.siaga3Cm, s2: gate.siaga2Cm, s1: gate.siaga1Cm })
                  : t('floodgates.noSiaga')}
              </p>
              {points ? (
                <svg class="sparkline" viewBox="0 0 120 32" role="img" aria-label={t('floodgates.sparkline', { hours: SERIES_HOURS })}>
                  <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" />
                </svg>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Snapshots(props: { cameras: Camera[] }) {
  const groups = KINDS.map((kind) => [kind, props.cameras.filter((camera) => camera.kind === kind)] as const).filter(
    ([, cameras]) => cameras.length > 0,
  );
  return (
    <section class="panel snapshots" aria-labelledby="snapshots-title" tabIndex={0}>
      <h2 id="snapshots-title">{t('snapshots.title')}</h2>
      <div class="shot-groups">
      {groups.map(([kind, cameras]) => (
        <section key={kind} aria-labelledby={`kind-${kind}`}>
          <h3 id={`kind-${kind}`}>{t(`kind.${kind}`)}</h3>
          <ul class="shots">
            {cameras.map((camera) => (
              <li key={camera.code}>
                <figure>
                  {camera.latestSnapshotUrl ? (
                    <img
                      src={camera.latestSnapshotUrl}
                      alt={t('snapshots.alt', { camera: camera.name })}
                      loading="lazy"
                    />
                  ) : (
                    <div class="shot-empty">{t('snapshots.none')}</div>
                  )}
                  <figcaption>
                    {camera.name}
                    {camera.health ? (
                      <span class={`health health-${camera.health.toLowerCase()}`}>
                        {' '}
                        · {t(`health.${camera.health}` as CommandKey)}
                      </span>
                    ) : null}
                  </figcaption>
                </figure>
              </li>
            ))}
          </ul>
        </section>
      ))}
      </div>
    </section>
  );
}

export function Wall() {
  useSignal(language);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [stats, setStats] = useState<Stats | null>(null);
  const [gates, setGates] = useState<Gate[] | null>(null);
  const [choices, setChoices] = useState<Choices | null>(null);
  const [fresh, setFresh] = useState<Fresh[]>([]);
  const [version, setVersion] = useState(0);
  const [states, setStates] = useState<{ alerts: LiveState; reports: LiveState }>({
    alerts: 'connecting',
    reports: 'connecting',
  });
  const [error, setError] = useState<unknown>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const statsSequence = useRef(0);
  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);

  async function loadStats() {
    const sequence = ++statsSequence.current;
    try {
      const loaded = await load(WallStatsQuery, { filter: statsFilter(filterRef.current) });
      if (sequence !== statsSequence.current) return;
      setStats(loaded.data.wallStats);
      setSavedAt(loaded.savedAt);
    } catch (caught) {
      setError(caught);
    }
  }

  async function loadCameras() {
    try {
      setCameras((await load(WallCameras)).data.cameras);
    } catch (caught) {
      setError(caught);
    }
  }

  async function loadAll() {
    setError(null);
    setNow(Date.now());
    await Promise.all([
      loadStats(),
      loadCameras(),
      load(WallAlerts, { first: ALERTS_SHOWN }).then((loaded) => setAlerts(loaded.data.cctvAlerts), setError),
      load(WallFloodgates, { hours: SERIES_HOURS }).then((loaded) => setGates(loaded.data.floodgateLevels), setError),
    ]);
  }

  function soon() {
    if (settle.current) clearTimeout(settle.current);
    settle.current = setTimeout(() => {
      settle.current = null;
      void loadStats();
    }, SETTLE_MS);
  }

  useEffect(() => {
    load(WallChoices).then((loaded) => setChoices(loaded.data), setError);
    void loadAll();
    const opened = { alerts: false, reports: false };
    const follow = (name: 'alerts' | 'reports') => (state: LiveState) => {
      setStates((previous) => ({ ...previous, [name]: state }));
      if (state !== 'open') return;
      // Reopened (a lost connection, RESYNC_REQUIRED): what happened meanwhile is read again.
      if (opened[name]) {
        void loadAll();
        setVersion((previous) => previous + 1);
      }
      opened[name] = true;
    };
    const alertsLive = new Live(
      WallAlertRaised,
      {},
      (data) => {
        const alert = data.cctvAlertRaised;
        setAlerts((previous) => [alert, ...previous.filter((item) => item.id !== alert.id)].slice(0, ALERTS_SHOWN));
        setNow(Date.now());
        void loadCameras();
      },
      follow('alerts'),
      true,
    );
    const reportsLive = new Live(
      WallReportEvents,
      { categories: null },
      (data) => {
        const event = data.reportEvents;
        if (event.kind === 'CREATED') {
          const report = event.report;
          setFresh((previous) =>
            [
              { id: report.id, lat: report.lat, lon: report.lon, category: report.category, createdAt: report.createdAt },
              ...previous.filter((item) => item.id !== report.id),
            ].slice(0, FRESH_SHOWN),
          );
        }
        setVersion((previous) => previous + 1);
        soon();
      },
      follow('reports'),
    );
    alertsLive.start();
    reportsLive.start();
    const timer = setInterval(() => {
      setNow(Date.now());
      void loadStats();
    }, REFRESH_MS);
    return () => {
      alertsLive.stop();
      reportsLive.stop();
      clearInterval(timer);
      if (settle.current) clearTimeout(settle.current);
    };
  }, []);

  function changeFilter(next: Filter) {
    filterRef.current = next;
    setFilter(next);
    void loadStats();
  }

  const names = useMemo(() => new Map(cameras.map((camera) => [camera.code, camera.name])), [cameras]);
  const english = language.get() === 'en';
  const categoryNames = useMemo(
    () => new Map((choices?.categories ?? []).map((c) => [c.code, english ? c.nameEn : c.nameId])),
    [choices, english],
  );
  const points = useMemo<CameraPoint[]>(
    () =>
      cameras.map((camera) => ({
        code: camera.code,
        name: camera.name,
        lat: camera.lat,
        lon: camera.lon,
        state: cameraState(camera, now),
      })),
    [cameras, now],
  );
  const faults = points.filter((point) => point.state === 'fault').length;
  const lastDay = alerts.filter((alert) => now - new Date(alert.createdAt).getTime() < 86_400_000).length;
  const live: LiveState =
    states.alerts === 'open' && states.reports === 'open'
      ? 'open'
      : states.alerts === 'retrying' || states.reports === 'retrying'
        ? 'retrying'
        : states.alerts === 'stopped' || states.reports === 'stopped'
          ? 'stopped'
          : 'connecting';

  return (
    <div class="wall">
      <header class="wall-header">
        <h1>{t('title')}</h1>
        <p class={`live live-${live}`} role="status">
          {t(`live.${live}`)}
          {stats ? <span class="muted"> · {t('updatedAt', { time: formatDateTime(stats.at) })}</span> : null}
        </p>
        <div class="wall-account">
          <LanguageSwitch />
          <button type="button" onClick={() => session.clear()}>
            {t('logOut')}
          </button>
        </div>
      </header>
      <ErrorMessage error={error} onRetry={() => void loadAll()} />
      <SavedAt savedAt={savedAt} />
      <section class="figures-panel" aria-labelledby="figures-title">
        <h2 id="figures-title" class="visually-hidden">
          {t('figures.title')}
        </h2>
        <dl class="figures">
          <Figure label={t('figures.open')} value={stats?.open ?? null} />
          <Figure label={t('figures.overdue')} value={stats?.overdue ?? null} tone="figure-danger" />
          <Figure label={t('figures.filedToday')} value={stats?.filedToday ?? null} />
          <Figure label={t('figures.alerts')} value={lastDay} />
          <Figure label={t('figures.cameraFaults')} value={faults} />
        </dl>
      </section>
      <Filters choices={choices} filter={filter} onChange={changeFilter} />
      <section class="panel map-panel" aria-labelledby="map-title">
        <h2 id="map-title">{t('map.title')}</h2>
        <WallMap cameras={points} fresh={fresh} filter={filter} version={version} />
      </section>
      <AlertFeed alerts={alerts} names={names} />
      <Floodgates gates={gates} />
      <FreshReports fresh={fresh} categories={categoryNames} />
      <StatsTable title={t('stats.kota')} id="stats-kota" rows={stats?.byKota ?? []} />
      <StatsTable title={t('stats.agency')} id="stats-unit" rows={(stats?.byUnit ?? []).slice(0, 12)} />
      <Snapshots cameras={cameras} />
    </div>
  );
}

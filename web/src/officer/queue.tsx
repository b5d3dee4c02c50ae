// The work queue: the jurisdiction's reports, soonest deadline first, filtered by what the URL's hash says,
// page by page; what changed since the officer's last look is marked; a map of the area on request; live
// updates refresh it when one of its reports changes or a report is filed nearby; several reports can be
// selected for a bulk action.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { graphql } from '../gql';
import type { OfficerCategoriesQuery, ReportEventsForQueueSubscription } from '../gql/graphql';
import { load, remember } from '../shared/data';
import { formatDateTime, formatRelative, language } from '../shared/i18n';
import { online } from '../shared/pwa';
import { current, navigate } from '../shared/router';
import { session } from '../shared/session';
import { useSignal } from '../shared/signal';
import { ConnectionBanner, ErrorMessage, Loading, OutboxPanel, SavedAt, StatusBadge, TopBar } from '../shared/ui';
import { BulkBar } from './bulk';
import { apiFilter, filtersRoute, parseFilters, type QueueFilters, STATUSES } from './filters';
import { isNew, lastLook, markSeen, newestChange } from './lastLook';
import { Live } from '../shared/live';
import { AreaMap, kelurahanOf, type MapPoint } from './map';
import { BottomNav, refreshUnread } from './nav';
import { Categories, OfficerQueue, type QueueItem, ReportSummary } from './queries';
import { t } from './strings';

const PAGE = 20;
const MAX_PAGE = 100;
/** Around the queue's reports, for the live subscription: about 2 km. */
const MARGIN_DEG = 0.02;

const AwaitingVerification = graphql(`
  query OfficerAwaitingVerification {
    workQueue(filter: { awaitingMyVerification: true }, first: 20) {
      edges { node { id } }
      pageInfo { hasNextPage }
    }
  }
`);

/** A kelurahan office does the work; the offices above it (and those supervising agencies) also verify it. */
function supervises(unitKind: string | null | undefined): boolean {
  return Boolean(unitKind) && unitKind !== 'KELURAHAN';
}

/** How many completions wait for this office's verdict: a line on top of the queue, with the filter one tap away. */
function ToVerify(props: { filters: QueueFilters; refreshed: number }) {
  useSignal(language);
  const [count, setCount] = useState<{ shown: number; more: boolean } | null>(null);
  useEffect(() => {
    load(AwaitingVerification)
      .then((loaded) =>
        setCount({ shown: loaded.data.workQueue.edges.length, more: loaded.data.workQueue.pageInfo.hasNextPage }),
      )
      .catch(() => setCount(null));
  }, [props.refreshed]);
  if (!count || count.shown === 0 || props.filters.verify) return null;
  return (
    <section class="card fresh" aria-label={t('filters.verify')}>
      <p>{t(count.more ? 'queue.toVerifyMany' : 'queue.toVerify', { count: count.shown })}</p>
      <button type="button" onClick={() => setFilters({ verify: true })}>
        {t('queue.showToVerify')}
      </button>
    </section>
  );
}

const ReportEventsForQueue = graphql(`
  subscription ReportEventsForQueue($bbox: BBoxInput) {
    reportEvents(bbox: $bbox) { kind report { id } }
  }
`);

export type Category = OfficerCategoriesQuery['categories'][number];

export function categoryName(category: { nameId: string; nameEn: string }): string {
  return language.get() === 'id' ? category.nameId : category.nameEn;
}

export function useCategories(): Category[] {
  const [categories, setCategories] = useState<Category[]>([]);
  useEffect(() => {
    load(Categories)
      .then((loaded) => setCategories(loaded.data.categories))
      .catch(() => setCategories([]));
  }, []);
  return categories;
}

function bboxAround(items: QueueItem[]) {
  if (items.length === 0) return null;
  const lats = items.map((item) => item.location.lat);
  const lons = items.map((item) => item.location.lon);
  return {
    west: Math.min(...lons) - MARGIN_DEG,
    south: Math.min(...lats) - MARGIN_DEG,
    east: Math.max(...lons) + MARGIN_DEG,
    north: Math.max(...lats) + MARGIN_DEG,
  };
}

let lastQueue = '/';

/** The queue as the officer last left it (filters and all), for the report screen's way back. */
export function queueRoute(): string {
  return lastQueue;
}

function setFilters(change: Partial<QueueFilters>): void {
  // Onto the filters the URL holds now, not the ones of the last render: two changes in quick succession (before
  // the hashchange re-rendered) must not undo the first. Replaces the entry rather than adding one per change: the
  // back button leaves the queue.
  location.replace(`#${filtersRoute({ ...parseFilters(current()), ...change })}`);
}

export function QueueScreen(props: { route: string }) {
  useSignal(language);
  const look = useSignal(lastLook);
  const isOnline = useSignal(online);
  const filters = parseFilters(props.route);
  lastQueue = filtersRoute(filters);
  const variablesKey = JSON.stringify(apiFilter(filters, look));
  const categories = useCategories();
  const [items, setItems] = useState<QueueItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const [refreshed, setRefreshed] = useState(0);
  /** The filter the items shown answer (they are being replaced while it differs from the URL's). */
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const sequence = useRef(0);
  const itemsRef = useRef<QueueItem[]>([]);
  itemsRef.current = items ?? [];

  const fetchPage = useCallback(
    async (after: string | null, first: number = PAGE) => {
      const turn = ++sequence.current;
      const key = variablesKey;
      setBusy(true);
      setError(null);
      try {
        const loaded = await load(OfficerQueue, {
          filter: apiFilter(parseFilters(props.route), lastLook.get()),
          first,
          after,
        });
        if (turn !== sequence.current) return;
        const page = loaded.data.workQueue.edges.map((edge) => edge.node);
        setItems((before) => (after ? [...(before ?? []), ...page.filter((item) => !before?.some((b) => b.id === item.id))] : page));
        setNext(loaded.data.workQueue.pageInfo.hasNextPage ? loaded.data.workQueue.pageInfo.endCursor : null);
        setSavedAt(loaded.savedAt);
        setLoadedKey(key);
        if (loaded.savedAt === null) {
          // Each report of the queue can be opened (and acted on) offline, even one never opened before.
          await Promise.all(page.map((item) => remember(ReportSummary, { id: item.id }, { report: item })));
        }
      } catch (caught) {
        if (turn === sequence.current) setError(caught);
      } finally {
        if (turn === sequence.current) setBusy(false);
      }
    },
    [variablesKey],
  );

  const reload = useCallback(
    (first: number) => {
      void fetchPage(null, first);
      void refreshUnread();
      setRefreshed((count) => count + 1);
    },
    [fetchPage],
  );
  // As many as are shown: a refresh (a live one too) does not take away the pages the officer opened.
  const refresh = useCallback(() => reload(Math.min(MAX_PAGE, Math.max(PAGE, itemsRef.current.length))), [reload]);

  useEffect(() => {
    itemsRef.current = [];
    setItems(null);
    setSelected([]);
    reload(PAGE);
  }, [reload]);

  // Back online: what is shown may be old.
  useEffect(() => {
    if (isOnline && savedAt !== null) refresh();
  }, [isOnline]);

  // Live: a report of the queue changed, or one was filed nearby.
  const live = useRef<Live<ReportEventsForQueueSubscription, { bbox: ReturnType<typeof bboxAround> }> | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const subscription = new Live(ReportEventsForQueue, { bbox: bboxAround(itemsRef.current) }, (data) => {
      const event = data.reportEvents;
      const ours = itemsRef.current.some((item) => item.id === event.report.id);
      if (!ours && event.kind !== 'CREATED') return;
      if (timer) clearTimeout(timer);
      // A burst of events (a bulk action) refreshes once.
      timer = setTimeout(() => {
        timer = null;
        refresh();
      }, 1_000);
    });
    live.current = subscription;
    subscription.start();
    return () => {
      if (timer) clearTimeout(timer);
      subscription.stop();
    };
  }, [refresh]);
  useEffect(() => {
    if (items) live.current?.update({ bbox: bboxAround(items) });
  }, [items]);

  const account = session.account();
  const shown = useMemo(
    () => (items ?? []).filter((item) => !filters.fresh || isNew(item.updatedAt, look)),
    [items, filters.fresh, look],
  );
  const fresh = (items ?? []).filter((item) => isNew(item.updatedAt, look)).length;
  const points: MapPoint[] = useMemo(
    () =>
      shown.map((item) => ({ id: item.id, lat: item.location.lat, lon: item.location.lon, status: item.status, overdue: item.overdue })),
    [shown],
  );
  const activeFilters =
    Number(filters.status !== null) +
    Number(filters.category !== null) +
    Number(filters.overdue !== null) +
    Number(filters.mine) +
    Number(filters.fresh) +
    Number(filters.verify);
  const supervisor = supervises(account?.unit?.kind);

  // Open when the queue is filtered; then the officer's own choice (clearing the last filter leaves it open).
  const [filtersOpen, setFiltersOpen] = useState(activeFilters > 0);

  function toggle(id: string, on: boolean) {
    setSelected((before) => (on ? [...before.filter((other) => other !== id), id] : before.filter((other) => other !== id)));
  }

  return (
    <main class="screen">
      <TopBar
        title={t('queue.title')}
        actions={
          <button type="button" onClick={refresh} disabled={busy}>
            {busy ? t('queue.refreshing') : t('queue.refresh')}
          </button>
        }
      />
      <ConnectionBanner />
      <SavedAt savedAt={savedAt} />
      <OutboxPanel />
      <ErrorMessage error={error} onRetry={refresh} />

      {items && fresh > 0 && account ? (
        <section class="card fresh" aria-label={t('queue.freshTitle')}>
          <p>
            {look
              ? t('queue.freshSince', { count: fresh, time: formatDateTime(look) })
              : t('queue.freshFirst', { count: fresh })}
          </p>
          <button
            type="button"
            onClick={() => {
              const newest = newestChange(items);
              if (newest) markSeen(account.id, newest);
            }}
          >
            {t('queue.markSeen')}
          </button>
        </section>
      ) : null}

      {supervisor ? <ToVerify filters={filters} refreshed={refreshed} /> : null}

      <details class="card filters" open={filtersOpen} onToggle={(event) => setFiltersOpen(event.currentTarget.open)}>
        <summary>{activeFilters ? t('filters.titleActive', { count: activeFilters }) : t('filters.title')}</summary>
        <div class="form">
          <label class="field">
            <span class="field-label">{t('filters.status')}</span>
            <select
              value={filters.status ?? ''}
              onChange={(event) =>
                setFilters({ status: (event.currentTarget.value || null) as QueueFilters['status'] })
              }
            >
              <option value="">{t('filters.statusOpen')}</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {t(`target.${status}` as Parameters<typeof t>[0])}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">{t('filters.category')}</span>
            <select
              value={filters.category ?? ''}
              onChange={(event) => setFilters({ category: event.currentTarget.value || null })}
            >
              <option value="">{t('filters.categoryAll')}</option>
              {categories.map((category) => (
                <option key={category.code} value={category.code}>
                  {categoryName(category)}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">{t('filters.deadline')}</span>
            <select
              value={filters.overdue === null ? '' : filters.overdue ? '1' : '0'}
              onChange={(event) => {
                const value = event.currentTarget.value;
                setFilters({ overdue: value === '' ? null : value === '1' });
              }}
            >
              <option value="">{t('filters.deadlineAll')}</option>
              <option value="1">{t('filters.overdue')}</option>
              <option value="0">{t('filters.onTime')}</option>
            </select>
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={filters.mine}
              onChange={(event) => setFilters({ mine: event.currentTarget.checked })}
            />
            {t('filters.mine')}
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={filters.fresh}
              onChange={(event) => setFilters({ fresh: event.currentTarget.checked })}
            />
            {t('filters.fresh')}
          </label>
          {supervisor || filters.verify ? (
            <label class="check">
              <input
                type="checkbox"
                checked={filters.verify}
                onChange={(event) => setFilters({ verify: event.currentTarget.checked })}
              />
              {t('filters.verify')}
            </label>
          ) : null}
        </div>
      </details>

      <div class="toolbar">
        <button
          type="button"
          aria-pressed={filters.view === 'map'}
          onClick={() => setFilters({ view: filters.view === 'map' ? 'list' : 'map' })}
        >
          {t('queue.showMap')}
        </button>
        {items ? <p class="count">{t('queue.count', { count: shown.length })}</p> : null}
      </div>

      {filters.view === 'map' ? (
        <AreaMap
          points={points}
          label={t('map.area')}
          kelurahanCode={kelurahanOf(account?.unit?.code)}
          onOpen={(id) => navigate(`/report/${id}`)}
        />
      ) : null}

      {items === null && !error ? <Loading /> : null}
      {items && shown.length === 0 ? <p>{t('queue.empty')}</p> : null}
      <ul class="list" aria-label={t('queue.listLabel')} aria-busy={busy || loadedKey !== variablesKey}>
        {shown.map((item) => {
          const category = categoryName(item.category);
          const changed = isNew(item.updatedAt, look);
          return (
            <li key={item.id} class={`card report-item${selected.includes(item.id) ? ' selected' : ''}`}>
              <input
                type="checkbox"
                class="report-select"
                checked={selected.includes(item.id)}
                aria-label={t('queue.select', { report: `${category}: ${item.description.slice(0, 60)}` })}
                onChange={(event) => toggle(item.id, event.currentTarget.checked)}
              />
              <a class="report-link" href={`#/report/${item.id}`}>
                <span class="report-category">
                  {category}
                  {changed ? <span class="badge-new">{t('queue.new')}</span> : null}
                </span>
                <span class="report-description">{item.description}</span>
                <span class="report-meta">
                  <StatusBadge status={item.status} />
                  <span>{item.kelurahan.name}</span>
                  {item.overdue ? <strong class="overdue">{t('queue.overdue')}</strong> : null}
                  {item.dueAt ? <span>{t('queue.due', { time: formatRelative(item.dueAt) })}</span> : null}
                  {item.escalationLevel > 0 ? (
                    <span class="escalated">{t(`escalation.${item.escalationLevel}` as Parameters<typeof t>[0])}</span>
                  ) : null}
                  {item.assignee ? <span>{t('queue.assignee', { name: item.assignee.displayName })}</span> : null}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      {next ? (
        <button type="button" class="more" disabled={busy} onClick={() => void fetchPage(next)}>
          {t('queue.more')}
        </button>
      ) : null}
      {selected.length ? (
        <BulkBar
          items={(items ?? []).filter((item) => selected.includes(item.id))}
          onDone={() => {
            setSelected([]);
            refresh();
          }}
          onClear={() => setSelected([])}
        />
      ) : null}
      <BottomNav current="queue" />
    </main>
  );
}

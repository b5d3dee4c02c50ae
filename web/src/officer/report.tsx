// One report as an officer needs it: photos, description, place, category and status, deadlines and escalation,
// history with notes, comments, supporters, CCTV evidence, the reporter (named to officers even when the report is
// anonymous to the public), and the actions.
// Offline it shows what was kept on the phone: the whole report if it was opened before, else its queue entry.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { NetworkError } from '../shared/api';
import { kept, load } from '../shared/data';
import { formatDateTime, formatRelative, language } from '../shared/i18n';
import { dismiss, flush, watchOutbox } from '../shared/outbox';
import { online } from '../shared/pwa';
import { useSignal } from '../shared/signal';
import type { OutboxEntry } from '../shared/store';
import { statusLabel, tc } from '../shared/strings';
import { ConnectionBanner, ErrorMessage, Loading, SavedAt, StatusBadge, TopBar } from '../shared/ui';
import { ActionSheet } from './actions';
import { AreaMap, kelurahanOf } from './map';
import { BottomNav } from './nav';
import { OfficerReport, type QueueItem, type ReportDetail, ReportSummary } from './queries';
import { categoryName, queueRoute } from './queue';
import { Sheet } from './sheet';
import { t } from './strings';
import { isFor, refusalText } from './work';

type Shown = { detail: ReportDetail | null; summary: QueueItem; savedAt: number | null };

type Photo = ReportDetail['photos'][number];

/**
 * Who filed it. "Anonymous" hides the name from the public, not from the officers (the API gives it to staff, the
 * history names the reporter, and the citizen app tells the reporter that officers still know, to contact them).
 */
function reporterText(detail: ReportDetail): string {
  const name = detail.reporter?.displayName;
  if (!name) return detail.anonymous ? t('report.anonymous') : '–';
  return detail.anonymous ? t('report.anonymousName', { name }) : name;
}

function Photos(props: { photos: Photo[]; label: string; empty: string }) {
  const [open, setOpen] = useState<Photo | null>(null);
  if (props.photos.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <>
      <ul class="photos">
        {props.photos.map((photo, index) => (
          <li key={photo.id}>
            {photo.thumbnailUrl ? (
              <button type="button" class="photo-button" onClick={() => setOpen(photo)}>
                <img
                  src={photo.thumbnailUrl}
                  alt={t('report.photoAlt', { label: props.label, number: index + 1 })}
                  loading="lazy"
                  width={120}
                  height={120}
                />
              </button>
            ) : (
              <span class="photo-pending">{t(photo.status === 'FAILED' ? 'report.photoFailed' : 'report.photoPending')}</span>
            )}
          </li>
        ))}
      </ul>
      {open ? (
        <Sheet title={props.label} onClose={() => setOpen(null)} wide>
          <img
            class="photo-full"
            src={open.url ?? open.thumbnailUrl ?? ''}
            alt={t('report.photoAlt', { label: props.label, number: props.photos.indexOf(open) + 1 })}
          />
        </Sheet>
      ) : null}
    </>
  );
}

function Deadlines(props: { report: QueueItem; detail: ReportDetail | null }) {
  const { report, detail } = props;
  const row = (label: string, iso: string | null | undefined) =>
    iso ? (
      <>
        <dt>{label}</dt>
        <dd>
          {formatDateTime(iso)} ({formatRelative(iso)})
        </dd>
      </>
    ) : null;
  return (
    <dl class="facts">
      {row(t('report.responseDue'), detail?.responseDueAt)}
      {row(t('report.completionDue'), detail?.completionDueAt)}
      {detail ? null : row(t('report.nextDue'), report.dueAt)}
      {row(t('report.firstResponse'), detail?.firstResponseAt)}
      {row(t('report.closedAt'), detail?.closedAt)}
      <dt>{t('report.overdue')}</dt>
      <dd>{report.overdue ? <strong class="overdue">{t('report.overdueYes')}</strong> : t('report.overdueNo')}</dd>
      <dt>{t('report.escalation')}</dt>
      <dd>{t(`escalation.${report.escalationLevel}` as Parameters<typeof t>[0])}</dd>
    </dl>
  );
}

function Place(props: { report: QueueItem; detail: ReportDetail | null }) {
  const { report, detail } = props;
  const [showMap, setShowMap] = useState(Boolean(window.maplibregl));
  const where = [report.kelurahan.name, detail?.kecamatan.name, detail?.kota.name].filter(Boolean).join(', ');
  const accuracy = detail?.location.accuracyM;
  return (
    <>
      <dl class="facts">
        <dt>{t('report.kelurahan')}</dt>
        <dd>{where}</dd>
        <dt>{t('report.coordinates')}</dt>
        <dd>
          {report.location.lat.toFixed(6)}, {report.location.lon.toFixed(6)}
          {accuracy ? ` (± ${Math.round(accuracy)} m)` : ''}
        </dd>
        {detail && detail.routingDistanceM > 0 ? (
          <>
            <dt>{t('report.outside')}</dt>
            <dd>{t('report.outsideBy', { metres: Math.round(detail.routingDistanceM) })}</dd>
          </>
        ) : null}
        <dt>{t('report.unit')}</dt>
        <dd>{report.unit.name}</dd>
      </dl>
      {showMap ? (
        <AreaMap
          class="area-map-small"
          points={[{ id: report.id, lat: report.location.lat, lon: report.location.lon, status: report.status, overdue: report.overdue }]}
          label={t('map.report')}
          kelurahanCode={report.kelurahan.code}
          zoom={16}
        />
      ) : (
        <button type="button" onClick={() => setShowMap(true)}>
          {t('report.showMap')}
        </button>
      )}
    </>
  );
}

function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${Math.round(value * 100)}%`;
}

/**
 * The clips are MPEG-TS (cut from the cameras' archive without re-encoding), which few phone browsers play; the
 * CCTV worker also stores an H.264 MP4 copy that they do (playableClipUrl). The original stays downloadable: it is
 * the evidence. Evidence collected before the copies were made, or whose copy failed, has only the original.
 */
const CLIP_TYPE = 'video/mp2t';

type EvidenceItem = ReportDetail['cctvEvidence'][number];

function Original(props: { item: EvidenceItem; url: string }) {
  return (
    <p>
      {t('cctv.original')}{' '}
      <a href={props.url} type={CLIP_TYPE} download>
        {t('cctv.downloadOriginal')}
      </a>
    </p>
  );
}

function Clip(props: { item: EvidenceItem; tsPlayable: boolean; failed: boolean; onError: () => void }) {
  const { item } = props;
  const label = t('cctv.clip', { camera: item.cameraName });
  const playable = item.playableClipUrl;
  if (playable && !props.failed) {
    return (
      <>
        <video
          class="evidence-clip"
          controls
          preload="metadata"
          playsInline
          src={playable}
          aria-label={label}
          onError={props.onError}
        >
          {t('cctv.cannotPlay')}
        </video>
        {item.clipUrl ? <Original item={item} url={item.clipUrl} /> : null}
      </>
    );
  }
  if (!item.clipUrl) return null;
  if (!props.tsPlayable || props.failed) {
    return (
      <p>
        {t('cctv.cannotPlay')}{' '}
        <a href={item.clipUrl} type={CLIP_TYPE} download>
          {t('cctv.download')}
        </a>
      </p>
    );
  }
  return <video class="evidence-clip" controls preload="none" src={item.clipUrl} aria-label={label} onError={props.onError} />;
}

function Evidence(props: { evidence: ReportDetail['cctvEvidence'] }) {
  const tsPlayable = useMemo(() => document.createElement('video').canPlayType(CLIP_TYPE) !== '', []);
  const [unplayable, setUnplayable] = useState<string[]>([]);
  return (
    <ul class="list">
      {props.evidence.map((item) => (
        <li key={item.id} class="evidence">
          <h3>
            {item.cameraName} <span class="muted">({t('cctv.distance', { metres: Math.round(item.distanceM) })})</span>
          </h3>
          <p>
            {t(`cctv.status.${item.status}` as Parameters<typeof t>[0])}
            {item.reason ? ` – ${item.reason}` : ''}
          </p>
          <p class="muted">
            {formatDateTime(item.windowStart)} – {formatDateTime(item.windowEnd)}
          </p>
          {item.snapshotUrl ? (
            <img class="evidence-snapshot" src={item.snapshotUrl} alt={t('cctv.snapshot', { camera: item.cameraName })} loading="lazy" />
          ) : null}
          <Clip
            item={item}
            tsPlayable={tsPlayable}
            failed={unplayable.includes(item.id)}
            onError={() => setUnplayable((before) => (before.includes(item.id) ? before : [...before, item.id]))}
          />
          {item.status === 'READY' ? (
            <dl class="facts">
              <dt>{t('cctv.health')}</dt>
              <dd>{item.health ?? '–'}</dd>
              <dt>{t('cctv.motion')}</dt>
              <dd>{percent(item.motionRatio)}</dd>
              <dt>{t('cctv.congestion')}</dt>
              <dd>{percent(item.congestionIndex)}</dd>
              <dt>{t('cctv.objects')}</dt>
              <dd>
                {item.objects.length
                  ? item.objects.map((count) => t('cctv.object', { label: count.label, max: count.max })).join(', ')
                  : '–'}
              </dd>
              {item.facesBlurred ? (
                <>
                  <dt>{t('cctv.faces')}</dt>
                  <dd>{item.facesBlurred}</dd>
                </>
              ) : null}
            </dl>
          ) : null}
          {item.summary ? (
            <details>
              <summary>{t('cctv.summary')}</summary>
              <pre class="summary">{JSON.stringify(item.summary, null, 1)}</pre>
            </details>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function History(props: { history: ReportDetail['history'] }) {
  return (
    <ol class="history">
      {props.history.map((row, index) => (
        <li key={index}>
          <p class="history-what">
            <strong>{t(`history.${row.kind}` as Parameters<typeof t>[0])}</strong>
            {row.kind === 'STATUS' || row.kind === 'REROUTE' ? (
              <>
                {' '}
                {row.fromStatus ? `${statusLabel(row.fromStatus)} → ` : ''}
                {statusLabel(row.toStatus)}
              </>
            ) : null}
            {row.toUnit ? ` · ${t('history.toUnit', { unit: row.toUnit.name })}` : ''}
            {row.kind === 'ASSIGNMENT' ? ` · ${row.assignee ? row.assignee.displayName : t('history.released')}` : ''}
            {row.kind === 'ESCALATION' && row.escalationLevel ? ` · ${t(`escalation.${row.escalationLevel}` as Parameters<typeof t>[0])}` : ''}
            {row.rating ? ` · ${t('history.rating', { rating: row.rating })}` : ''}
          </p>
          <p class="muted">
            {formatDateTime(row.at)}
            {row.actor ? ` · ${row.actor.displayName}` : ''}
          </p>
          {row.publicNote ? <p class="note">{t('history.public', { note: row.publicNote })}</p> : null}
          {row.internalNote ? <p class="note note-internal">{t('history.internal', { note: row.internalNote })}</p> : null}
        </li>
      ))}
    </ol>
  );
}

function Comments(props: { comments: ReportDetail['comments'] }) {
  const nodes = props.comments.edges.map((edge) => edge.node);
  if (nodes.length === 0) return <p class="muted">{t('report.noComments')}</p>;
  return (
    <ul class="list comments">
      {nodes.map((comment) => (
        <li key={comment.id}>
          <p class="muted">
            {comment.author?.displayName ?? t('report.deletedAuthor')}
            {comment.byStaff ? ` · ${t('report.byStaff')}` : ''} · {formatDateTime(comment.createdAt)}
            {comment.hidden ? ` · ${t('report.hiddenComment')}` : ''}
          </p>
          <p>{comment.body}</p>
        </li>
      ))}
    </ul>
  );
}

/** The actions on this report still on the phone, and those the API refused (STALE first of all). */
function Pending(props: { entries: OutboxEntry[]; onReload: () => void }) {
  if (props.entries.length === 0) return null;
  return (
    <section class="pending" aria-label={t('report.pendingTitle')}>
      {props.entries.map((entry) =>
        entry.state === 'refused' ? (
          <div key={entry.id} class="banner banner-error" role="alert">
            <p>
              <strong>{t('report.refused', { action: entry.label })}</strong>
            </p>
            <p>{refusalText(entry.error)}</p>
            <div class="buttons">
              <button
                type="button"
                onClick={() => {
                  void dismiss(entry.id);
                  props.onReload();
                }}
              >
                {t('report.reloadAndDismiss')}
              </button>
            </div>
          </div>
        ) : (
          <div key={entry.id} class="banner banner-saved" role="status">
            <p>{t('report.pending', { action: entry.label })}</p>
            <button type="button" onClick={() => void flush()}>
              {tc('outbox.sendNow')}
            </button>
          </div>
        ),
      )}
    </section>
  );
}

export function ReportScreen(props: { id: string }) {
  useSignal(language);
  const isOnline = useSignal(online);
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  const [entries, setEntries] = useState<OutboxEntry[]>([]);
  const [acting, setActing] = useState(false);
  const waiting = useRef<string[]>([]);

  const current = useRef(props.id);
  current.current = props.id;
  const reload = useCallback(async () => {
    const id = props.id;
    setError(null);
    try {
      const loaded = await load(OfficerReport, { id });
      if (current.current !== id) return;
      const report = loaded.data.report;
      if (!report) {
        setMissing(true);
        return;
      }
      setShown({ detail: report, summary: report, savedAt: loaded.savedAt });
    } catch (caught) {
      const summary = caught instanceof NetworkError ? await kept(ReportSummary, { id }) : null;
      if (current.current !== id) return;
      if (summary?.data.report) setShown({ detail: null, summary: summary.data.report, savedAt: summary.savedAt });
      else setError(caught);
    }
  }, [props.id]);

  useEffect(() => {
    setShown(null);
    setMissing(false);
    void reload();
  }, [reload]);

  useEffect(() => {
    if (isOnline && shown?.savedAt) void reload();
  }, [isOnline]);

  // An action on this report left the phone (accepted): show the report as it is now.
  useEffect(
    () =>
      watchOutbox((all) => {
        const mine = all.filter((entry) => isFor(entry.payload, props.id));
        const pending = mine.filter((entry) => entry.state === 'pending').map((entry) => entry.id);
        if (waiting.current.some((id) => !mine.some((entry) => entry.id === id))) void reload();
        waiting.current = pending;
        setEntries(mine);
      }),
    [props.id, reload],
  );

  if (missing) {
    return (
      <main class="screen">
        <TopBar title={t('report.title')} back={`#${queueRoute()}`} />
        <p>{tc('error.NOT_FOUND')}</p>
        <BottomNav current="queue" />
      </main>
    );
  }
  const report = shown?.summary;
  const detail = shown?.detail ?? null;
  return (
    <main class="screen">
      <TopBar title={t('report.title')} back={`#${queueRoute()}`} />
      <ConnectionBanner />
      <SavedAt savedAt={shown?.savedAt ?? null} />
      <ErrorMessage error={error} onRetry={() => void reload()} />
      {!shown && !error ? <Loading /> : null}
      {report ? (
        <>
          <Pending entries={entries} onReload={() => void reload()} />
          <section class="card" aria-labelledby="report-heading">
            <h2 id="report-heading">{categoryName(report.category)}</h2>
            <p class="report-meta">
              <StatusBadge status={report.status} />
              {detail && detail.statusLabel !== statusLabel(report.status) ? <span>{detail.statusLabel}</span> : null}
              {report.overdue ? <strong class="overdue">{t('queue.overdue')}</strong> : null}
            </p>
            <p class="description">{report.description}</p>
            <dl class="facts">
              <dt>{t('report.filed')}</dt>
              <dd>{formatDateTime(report.createdAt)}</dd>
              <dt>{t('report.reporter')}</dt>
              <dd>{detail ? reporterText(detail) : '…'}</dd>
              <dt>{t('report.supporters')}</dt>
              <dd>{report.supportCount}</dd>
              <dt>{t('report.assignee')}</dt>
              <dd>{report.assignee?.displayName ?? t('report.nobody')}</dd>
              {detail?.confidential ? (
                <>
                  <dt>{t('report.confidential')}</dt>
                  <dd>{t('report.confidentialYes')}</dd>
                </>
              ) : null}
              {detail?.duplicateOf ? (
                <>
                  <dt>{t('report.duplicateOf')}</dt>
                  <dd>
                    <a href={`#/report/${detail.duplicateOf}`}>{t('report.original')}</a>
                  </dd>
                </>
              ) : null}
            </dl>
            <button type="button" class="primary" onClick={() => setActing(true)}>
              {t('report.act')}
            </button>
          </section>

          {detail ? null : <p class="banner banner-saved">{t('report.summaryOnly')}</p>}

          {detail ? (
            <section class="card" aria-labelledby="photos-heading">
              <h2 id="photos-heading">{t('report.photos')}</h2>
              <Photos photos={detail.photos} label={t('report.photos')} empty={t('report.noPhotos')} />
            </section>
          ) : null}

          <section class="card" aria-labelledby="deadlines-heading">
            <h2 id="deadlines-heading">{t('report.deadlines')}</h2>
            <Deadlines report={report} detail={detail} />
          </section>

          <section class="card" aria-labelledby="place-heading">
            <h2 id="place-heading">{t('report.place')}</h2>
            <Place report={report} detail={detail} />
          </section>

          {detail && detail.afterPhotos.length ? (
            <section class="card" aria-labelledby="after-heading">
              <h2 id="after-heading">{t('report.afterPhotos')}</h2>
              <Photos photos={detail.afterPhotos} label={t('report.afterPhotos')} empty="" />
            </section>
          ) : null}

          {detail && detail.cctvEvidence.length ? (
            <section class="card" aria-labelledby="cctv-heading">
              <h2 id="cctv-heading">{t('report.cctv')}</h2>
              <Evidence evidence={detail.cctvEvidence} />
            </section>
          ) : null}

          {detail ? (
            <section class="card" aria-labelledby="history-heading">
              <h2 id="history-heading">{t('report.history')}</h2>
              <History history={detail.history} />
            </section>
          ) : null}

          {detail ? (
            <section class="card" aria-labelledby="comments-heading">
              <h2 id="comments-heading">{t('report.comments', { count: detail.comments.edges.length })}</h2>
              <Comments comments={detail.comments} />
            </section>
          ) : null}

          {acting ? (
            <ActionSheet
              report={report}
              detail={detail}
              onClose={() => setActing(false)}
              kelurahanCode={kelurahanOf(report.unit.code) ?? report.kelurahan.code}
            />
          ) : null}
        </>
      ) : null}
      <BottomNav current="queue" />
    </main>
  );
}

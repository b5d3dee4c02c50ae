// My reports: those still on the phone (waiting to be sent, or refused with the reason) above those the city has,
// newest first, each with its status; a report opens its timeline.
import { useEffect, useState } from 'preact/hooks';
import { formatDateTime, language } from '../shared/i18n';
import { dismiss, flush } from '../shared/outbox';
import { useSignal } from '../shared/signal';
import type { OutboxEntry } from '../shared/store';
import { tc } from '../shared/strings';
import { ErrorMessage, Loading, SavedAt, StatusBadge } from '../shared/ui';
import type { QueuedReport } from './actions';
import { categoryName } from './categories';
import { Icon } from './icons';
import { Screen, useLoaded, useOutbox, useSent } from './layout';
import { MyReports } from './queries';
import { refusalText, t } from './strings';

function QueuedPhotos(props: { report: QueuedReport }) {
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const made = props.report.photos.slice(0, 1).map((photo) => URL.createObjectURL(photo.blob));
    setUrls(made);
    return () => made.forEach((url) => URL.revokeObjectURL(url));
  }, [props.report]);
  return (
    <>
      {urls.map((url) => (
        <img key={url} class="report-thumb" src={url} alt="" />
      ))}
    </>
  );
}

/** A report still on the phone: what it is, and why it has not gone yet. */
function Waiting(props: { entry: OutboxEntry }) {
  const lang = useSignal(language);
  const report = props.entry.payload as QueuedReport;
  const refused = props.entry.state === 'refused';
  return (
    <li class={`card report-item ${refused ? 'report-refused' : 'report-waiting'}`}>
      <QueuedPhotos report={report} />
      <p class="report-category">
        <Icon name={report.category} />{' '}
        {lang === 'id' ? report.categoryNameId : report.categoryNameEn}
      </p>
      <p class="report-description">{report.description}</p>
      <p class="report-meta">
        <span class={`status ${refused ? 'status-rejected' : 'status-waiting-send'}`}>
          {refused ? t('mine.refused') : t('mine.waiting')}
        </span>
        {[
          ...(report.photos.length > 0 ? [t('mine.photos', { count: report.photos.length })] : []),
          formatDateTime(new Date(props.entry.createdAt).toISOString()),
        ].join(' · ')}
      </p>
      {refused ? (
        <>
          <p class="banner banner-error">
            {refusalText(props.entry.error?.code ?? '', props.entry.error?.message ?? '')}
          </p>
          <button type="button" class="danger" onClick={() => void dismiss(props.entry.id)}>
            {t('pending.remove')}
          </button>
        </>
      ) : (
        <>
          <p class="field-hint">
            {t('mine.waitingHint')} {props.entry.error ? t('pending.lastTry') : ''}
          </p>
          <button type="button" onClick={() => void flush()}>
            {t('pending.sendNow')}
          </button>
        </>
      )}
    </li>
  );
}

/** Other actions waiting (a support, a comment, a rating), with the report they are about. */
export function PendingActions(props: { entries: OutboxEntry[] }) {
  if (props.entries.length === 0) return null;
  return (
    <section class="outbox" aria-labelledby="pending-title">
      <h2 id="pending-title">{t('pending.title')}</h2>
      <ul>
        {props.entries.map((entry) => (
          <li key={entry.id} class={`outbox-${entry.state}`}>
            <span class="outbox-label">{entry.label}</span>
            {entry.state === 'refused' ? (
              <>
                <span class="outbox-state">
                  {tc('outbox.refused')}: {refusalText(entry.error?.code ?? '', entry.error?.message ?? '')}
                </span>
                <button type="button" onClick={() => void dismiss(entry.id)}>
                  {t('pending.remove')}
                </button>
              </>
            ) : (
              <>
                <span class="outbox-state">{tc('outbox.pending')}</span>
                <button type="button" onClick={() => void flush()}>
                  {t('pending.sendNow')}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function MyReportsScreen() {
  const lang = useSignal(language);
  const mine = useLoaded(MyReports, { first: 50 }, 'mine');
  const entries = useOutbox();
  const queued = entries.filter((entry) => entry.kind === 'report');
  const others = entries.filter((entry) => entry.kind !== 'report');
  // A report that left the outbox is now the city's: read the list again to show it with its status.
  useSent(entries, (entry) => entry.kind === 'report', () => void mine.refresh());
  const items = mine.data?.myReports.edges.map((edge) => edge.node) ?? null;
  return (
    <Screen title={t('mine.title')} tab="mine">
      <SavedAt savedAt={mine.savedAt} />
      <PendingActions entries={others} />
      <a class="button-link primary" href="#/new">
        <Icon name="camera" /> {t('mine.new')}
      </a>
      <ErrorMessage error={mine.error} onRetry={() => void mine.refresh()} />
      {items === null && !mine.error ? <Loading /> : null}
      {items?.length === 0 && queued.length === 0 ? <p>{t('mine.empty')}</p> : null}
      <ul class="list">
        {queued.map((entry) => (
          <Waiting key={entry.id} entry={entry} />
        ))}
        {items?.map((item) => (
          <li key={item.id} class="card report-item">
            {item.photos[0]?.thumbnailUrl ? <img class="report-thumb" src={item.photos[0].thumbnailUrl} alt="" /> : null}
            <p class="report-category">
              <a href={`#/report/${item.id}`}>
                <Icon name={item.category.code} /> {categoryName(item.category, lang)}
              </a>
            </p>
            <p class="report-description">{item.description}</p>
            <p class="report-meta">
              <StatusBadge status={item.status} /> {item.kelurahan.name} · {formatDateTime(item.createdAt)}
            </p>
          </li>
        ))}
      </ul>
    </Screen>
  );
}

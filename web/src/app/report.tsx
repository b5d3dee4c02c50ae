// One report: its photos, where it is, its status timeline with the officers' public notes, the after-photos, the
// comments. On your own completed report: rate it, or reopen it with a reason. On someone else's: support it,
// follow it. Every action waits in the outbox until it is sent, shown here meanwhile.
import { useState } from 'preact/hooks';
import type { CitizenReportFieldsFragment, ReportDetailQuery } from '../gql/graphql';
import { formatDateTime, language } from '../shared/i18n';
import { useSignal } from '../shared/signal';
import { statusLabel } from '../shared/strings';
import { ErrorMessage, Field, Loading, SavedAt, StatusBadge, value } from '../shared/ui';
import { comment, entryReportId, follow, rate, reopen, support } from './actions';
import { categoryName } from './categories';
import { Icon } from './icons';
import { Screen, useLoaded, useOutbox, useSent } from './layout';
import { PendingActions } from './mine';
import { ReportDetail } from './queries';
import { t } from './strings';

type Detail = CitizenReportFieldsFragment;
type Change = Detail['history'][number];
type Comments = NonNullable<ReportDetailQuery['report']>['comments']['edges'];

const OPEN = new Set(['WAITING', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS', 'REOPENED', 'VERIFYING']);

function changeText(change: Change, first: boolean): string {
  switch (change.kind) {
    case 'STATUS':
      return first ? t('report.filed') : t('report.moved', { status: statusLabel(change.toStatus) });
    case 'ASSIGNMENT':
      return t('report.assigned');
    case 'ESCALATION':
      return t('report.escalated', { level: change.escalationLevel ?? '' });
    case 'REROUTE':
      return t('report.rerouted', { unit: change.toUnit?.name ?? '' });
    case 'RATING':
      return t('report.rated', { rating: change.rating ?? '' });
    default:
      return t('report.moderated');
  }
}

function noteText(change: Change): string {
  const note = change.publicNote ?? '';
  if (change.kind === 'RATING') return t('report.comment', { note });
  if (change.toStatus === 'REOPENED' || change.toStatus === 'REJECTED') return t('report.reason', { note });
  return t('report.note', { note });
}

function Timeline(props: { history: Detail['history'] }) {
  return (
    <section class="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">{t('report.timeline')}</h2>
      <ol class="timeline">
        {props.history.map((change, index) => (
          <li key={`${change.at}-${index}`}>
            <p class="timeline-what">{changeText(change, index === 0)}</p>
            <p class="field-hint">
              <time dateTime={change.at}>{formatDateTime(change.at)}</time>
            </p>
            {change.publicNote ? <p class="timeline-note">{noteText(change)}</p> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Pictures(props: { photos: Detail['photos']; alt: (n: number) => string }) {
  if (props.photos.length === 0) return null;
  return (
    <ul class="photos">
      {props.photos.map((photo, index) => (
        <li key={photo.id}>
          {photo.url ? (
            <a href={photo.url} target="_blank" rel="noreferrer">
              <img src={photo.thumbnailUrl ?? photo.url} alt={props.alt(index + 1)} />
            </a>
          ) : (
            <p class="field-hint">{photo.status === 'FAILED' ? t('report.photoFailed') : t('report.photoProcessing')}</p>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Whether the last completion has been rated already (each completion may be rated once). */
function ratedSinceCompletion(history: Detail['history']): boolean {
  for (let index = history.length - 1; index >= 0; index -= 1) {
    const change = history[index]!;
    if (change.kind === 'RATING') return true;
    if (change.kind === 'STATUS' && change.toStatus === 'COMPLETED') return false;
  }
  return false;
}

function RateForm(props: { reportId: string }) {
  const [rating, setRating] = useState<number | null>(null);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    if (rating === null) {
      setProblem(true);
      return;
    }
    await rate(props.reportId, rating, text.trim() || null);
  }
  return (
    <form class="card form" aria-labelledby="rate-title" onSubmit={(event) => void submit(event)}>
      <h2 id="rate-title">{t('report.rateTitle')}</h2>
      <fieldset class="stars">
        <legend>{t('report.rateLead')}</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} class="star">
            <input type="radio" name="rating" value={n} checked={rating === n} onChange={() => setRating(n)} />
            <span aria-hidden="true">{'★'.repeat(n)}</span>
            <span class="visually-hidden">{t('report.stars', { n })}</span>
          </label>
        ))}
      </fieldset>
      <Field label={t('report.rateComment')}>
        <textarea name="rating-comment" maxLength={2000} value={text} onInput={(event) => setText(value(event))} />
      </Field>
      {problem ? (
        <p class="banner banner-error" role="alert">
          {t('report.rateRequired')}
        </p>
      ) : null}
      <button type="submit" class="primary">
        {t('report.rateSubmit')}
      </button>
    </form>
  );
}

function ReopenForm(props: { reportId: string }) {
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    if (!reason.trim()) {
      setProblem(true);
      return;
    }
    await reopen(props.reportId, reason.trim());
  }
  return (
    <form class="card form" aria-labelledby="reopen-title" onSubmit={(event) => void submit(event)}>
      <h2 id="reopen-title">{t('report.reopenTitle')}</h2>
      <p>{t('report.reopenLead')}</p>
      <Field label={t('report.reopenReason')}>
        <textarea name="reopen-reason" maxLength={2000} value={reason} onInput={(event) => setReason(value(event))} />
      </Field>
      {problem ? (
        <p class="banner banner-error" role="alert">
          {t('report.reopenRequired')}
        </p>
      ) : null}
      <button type="submit" class="danger">
        {t('report.reopenSubmit')}
      </button>
    </form>
  );
}

function CommentList(props: { comments: Comments; reportId: string }) {
  const [body, setBody] = useState('');
  async function submit(event: Event) {
    event.preventDefault();
    if (!body.trim()) return;
    await comment(props.reportId, body.trim());
    setBody('');
  }
  return (
    <section class="card" aria-labelledby="comments-title">
      <h2 id="comments-title">{t('report.comments')}</h2>
      {props.comments.length === 0 ? <p>{t('report.noComments')}</p> : null}
      <ul class="comments">
        {props.comments.map(({ node }) => (
          <li key={node.id}>
            <p class="comment-author">
              {node.author?.displayName ?? t('report.deletedAuthor')}
              {node.byStaff ? <span class="status status-in_progress">{t('report.staffComment')}</span> : null}
            </p>
            <p>{node.hidden ? <em>{t('report.hiddenComment')}</em> : node.body}</p>
            <p class="field-hint">
              <time dateTime={node.createdAt}>{formatDateTime(node.createdAt)}</time>
            </p>
          </li>
        ))}
      </ul>
      <form class="form" onSubmit={(event) => void submit(event)}>
        <Field label={t('report.addComment')}>
          <textarea name="comment" maxLength={2000} required value={body} onInput={(event) => setBody(value(event))} />
        </Field>
        <button type="submit">{t('report.sendComment')}</button>
      </form>
    </section>
  );
}

function Others(props: { report: Detail; waiting: Set<string> }) {
  const { report } = props;
  const open = OPEN.has(report.status);
  return (
    <section class="card" aria-label={t('report.supports', { count: report.supportCount })}>
      <p>{t('report.supports', { count: report.supportCount })}</p>
      {report.supportedByMe ? <p>{t('report.supported')}</p> : null}
      {report.followedByMe ? <p>{t('report.following')}</p> : null}
      <div class="button-row">
        {report.supportedByMe ? (
          <button type="button" disabled={props.waiting.has('support')} onClick={() => void support(report.id, false)}>
            {t('report.unsupport')}
          </button>
        ) : open ? (
          <button type="button" disabled={props.waiting.has('support')} onClick={() => void support(report.id, true)}>
            <Icon name="support" /> {t('report.support')}
          </button>
        ) : null}
        <button
          type="button"
          disabled={props.waiting.has('follow')}
          onClick={() => void follow(report.id, !report.followedByMe)}
        >
          <Icon name="bell" /> {report.followedByMe ? t('report.unfollow') : t('report.follow')}
        </button>
      </div>
    </section>
  );
}

export function ReportScreen(props: { id: string }) {
  const lang = useSignal(language);
  const loaded = useLoaded(ReportDetail, { id: props.id }, `report:${props.id}`);
  const entries = useOutbox();
  const here = entries.filter((entry) => entryReportId(entry.payload) === props.id);
  useSent(entries, (entry) => entryReportId(entry.payload) === props.id, () => void loaded.refresh());
  const report = loaded.data?.report ?? null;
  const waiting = new Set(here.filter((entry) => entry.state === 'pending').map((entry) => entry.kind));
  const title = report ? categoryName(report.category, lang) : t('report.title');
  return (
    <Screen title={title} tab={null} back="#/">
      <SavedAt savedAt={loaded.savedAt} />
      <ErrorMessage error={loaded.error} onRetry={() => void loaded.refresh()} />
      {loaded.data === null && !loaded.error ? <Loading /> : null}
      {loaded.data !== null && report === null ? <p role="alert">{t('report.notFound')}</p> : null}
      <PendingActions entries={here} />
      {report ? (
        <>
          <section class="card report-head">
            <p class="report-category">
              <Icon name={report.category.code} /> {categoryName(report.category, lang)}
            </p>
            <p class="report-meta">
              <StatusBadge status={report.status} /> {formatDateTime(report.createdAt)}
            </p>
            <p>{report.description}</p>
            <p class="field-hint">
              {t('report.place', {
                kelurahan: report.kelurahan.name,
                kecamatan: report.kelurahan.kecamatan.name,
                kota: report.kelurahan.kota.name,
              })}
            </p>
            <p class="field-hint">{t('report.unit', { unit: report.unit.name })}</p>
            <p class="field-hint">
              {report.filedByMe
                ? t('report.yours')
                : report.reporter
                  ? t('report.by', { name: report.reporter.displayName })
                  : t('report.byAnonymous')}
            </p>
            {report.confidential ? <p class="banner banner-saved">{t('report.confidential')}</p> : null}
            <Pictures photos={report.photos} alt={(n) => t('report.photoAlt', { n })} />
          </section>
          {report.afterPhotos.length > 0 ? (
            <section class="card" aria-labelledby="after-title">
              <h2 id="after-title">{t('report.afterPhotos')}</h2>
              <Pictures photos={report.afterPhotos} alt={(n) => t('report.afterPhotoAlt', { n })} />
            </section>
          ) : null}
          {report.filedByMe && report.status === 'COMPLETED' && !waiting.has('rate') && !waiting.has('reopen') ? (
            <>
              {ratedSinceCompletion(report.history) ? null : <RateForm reportId={report.id} />}
              <ReopenForm reportId={report.id} />
            </>
          ) : null}
          {report.filedByMe ? null : <Others report={report} waiting={waiting} />}
          <Timeline history={report.history} />
          <CommentList comments={loaded.data?.report?.comments.edges ?? []} reportId={report.id} />
        </>
      ) : null}
    </Screen>
  );
}

// Several reports at once: assign them, or move them to one status (bulkAssignReports, bulkChangeReportStatus).
// One outbox entry carries the whole action (sent offline too, once, by its clientRequestId); the API checks
// each report on its own, and the sheet lists every report with its result: done, or refused and why (STALE
// when it changed since the officer saw it). A refused report also stays in the outbox list and on the report.
import { useEffect, useState } from 'preact/hooks';
import type { ReportStatus } from '../gql/graphql';
import { load } from '../shared/data';
import { language } from '../shared/i18n';
import { watchOutbox } from '../shared/outbox';
import { session } from '../shared/session';
import { useSignal } from '../shared/signal';
import type { OutboxEntry } from '../shared/store';
import { ErrorMessage, Field } from '../shared/ui';
import { type QueueItem, UnitOfficers } from './queries';
import { categoryName } from './queue';
import { Sheet } from './sheet';
import { t } from './strings';
import { actOnMany, bulkOutcomes, refusalText } from './work';

type Mode = 'assign' | 'status';
const TARGETS: ReportStatus[] = ['COORDINATION', 'IN_PROGRESS', 'REJECTED'];

function Results(props: { entryId: string; items: QueueItem[] }) {
  const outcomes = useSignal(bulkOutcomes)[props.entryId];
  const [entry, setEntry] = useState<OutboxEntry | null>(null);
  useEffect(() => watchOutbox((entries) => setEntry(entries.find((candidate) => candidate.id === props.entryId) ?? null)), [props.entryId]);
  if (entry?.state === 'refused') {
    return (
      <p class="banner banner-error" role="alert">
        {t('bulk.refusedAll', { reason: refusalText(entry.error) })}
      </p>
    );
  }
  return (
    <ul class="list results" aria-label={t('bulk.results')}>
      {props.items.map((item) => {
        const outcome = outcomes?.find((candidate) => candidate.reportId === item.id);
        const state = !outcome ? 'pending' : outcome.problem ? 'refused' : 'done';
        return (
          <li key={item.id} class={`result result-${state}`}>
            <span>
              {categoryName(item.category)}: {item.description.slice(0, 80)}
            </span>
            <strong>
              {state === 'done'
                ? t('bulk.done')
                : state === 'pending'
                  ? t('bulk.pending')
                  : t('bulk.refused', { reason: outcome?.problem?.message ?? '' })}
            </strong>
          </li>
        );
      })}
    </ul>
  );
}

function BulkSheet(props: { mode: Mode; items: QueueItem[]; onClose: () => void }) {
  useSignal(language);
  const me = session.account();
  const [officers, setOfficers] = useState<{ id: string; displayName: string }[]>([]);
  const [assignee, setAssignee] = useState(me?.id ?? '');
  const [to, setTo] = useState<ReportStatus>('IN_PROGRESS');
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const [reason, setReason] = useState('');
  const [entryId, setEntryId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (props.mode !== 'assign' || !me?.unit) return;
    load(UnitOfficers, { unit: me.unit.code })
      .then((loaded) => setOfficers(loaded.data.unitOfficers))
      .catch(() => setOfficers([]));
  }, [props.mode]);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    const reports = props.items.map((item) => ({ reportId: item.id, expectedStatus: item.status, title: item.description }));
    const name = assignee === me?.id ? (me?.displayName ?? '') : (officers.find((officer) => officer.id === assignee)?.displayName ?? '');
    try {
      setEntryId(
        await actOnMany(
          props.mode === 'assign'
            ? { kind: 'bulk', reports, to: null, assignee, assigneeName: name }
            : {
                kind: 'bulk',
                reports,
                to,
                publicNote: publicNote.trim() || null,
                internalNote: internalNote.trim() || null,
                reason: to === 'REJECTED' ? reason.trim() : null,
              },
        ),
      );
    } catch (caught) {
      setError(caught);
    }
  }

  const title = t(props.mode === 'assign' ? 'bulk.assignTitle' : 'bulk.statusTitle', { count: props.items.length });
  return (
    <Sheet title={title} onClose={props.onClose}>
      {entryId ? (
        <>
          <Results entryId={entryId} items={props.items} />
          <button type="button" class="primary" onClick={props.onClose}>
            {t('bulk.finish')}
          </button>
        </>
      ) : (
        <form class="form" onSubmit={(event) => void submit(event)}>
          {props.mode === 'assign' ? (
            <Field label={t('action.officer')}>
              <select value={assignee} onChange={(event) => setAssignee(event.currentTarget.value)}>
                {me ? <option value={me.id}>{t('bulk.me', { name: me.displayName })}</option> : null}
                {officers
                  .filter((officer) => officer.id !== me?.id)
                  .map((officer) => (
                    <option key={officer.id} value={officer.id}>
                      {officer.displayName}
                    </option>
                  ))}
              </select>
            </Field>
          ) : (
            <>
              <Field label={t('action.newStatus')}>
                <select value={to} onChange={(event) => setTo(event.currentTarget.value as ReportStatus)}>
                  {TARGETS.map((status) => (
                    <option key={status} value={status}>
                      {t(`target.${status}` as Parameters<typeof t>[0])}
                    </option>
                  ))}
                </select>
              </Field>
              {to === 'REJECTED' ? (
                <Field label={t('action.reason')} hint={t('action.reasonHint')}>
                  <textarea required maxLength={2000} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
                </Field>
              ) : (
                <Field label={t('action.publicNote')} hint={t('action.publicHint')}>
                  <textarea maxLength={2000} value={publicNote} onInput={(event) => setPublic(event.currentTarget.value)} />
                </Field>
              )}
              <Field label={t('action.internalNote')} hint={t('action.internalHint')}>
                <textarea maxLength={2000} value={internalNote} onInput={(event) => setInternal(event.currentTarget.value)} />
              </Field>
            </>
          )}
          <ul class="list compact" aria-label={t('bulk.chosen')}>
            {props.items.map((item) => (
              <li key={item.id}>
                {categoryName(item.category)}: {item.description.slice(0, 80)}
              </li>
            ))}
          </ul>
          <ErrorMessage error={error} />
          <button class="primary" type="submit">
            {props.mode === 'assign' ? t('action.assign') : t('action.save')}
          </button>
        </form>
      )}
    </Sheet>
  );
}

export function BulkBar(props: { items: QueueItem[]; onDone: () => void; onClear: () => void }) {
  useSignal(language);
  const [mode, setMode] = useState<Mode | null>(null);
  return (
    <>
      <section class="bulk-bar" aria-label={t('bulk.label')}>
        <p>{t('bulk.selected', { count: props.items.length })}</p>
        <div class="buttons">
          <button type="button" onClick={() => setMode('assign')}>
            {t('bulk.assign')}
          </button>
          <button type="button" onClick={() => setMode('status')}>
            {t('bulk.status')}
          </button>
          <button type="button" onClick={props.onClear}>
            {t('bulk.clear')}
          </button>
        </div>
      </section>
      {mode ? (
        <BulkSheet
          mode={mode}
          items={props.items}
          onClose={() => {
            setMode(null);
            props.onDone();
          }}
        />
      ) : null}
    </>
  );
}

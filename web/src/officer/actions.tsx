// The action sheet of a report: what the officer may do from its status, each as a short form. Every action is
// kept on the phone and sent through the outbox (src/officer/work.ts) with the status the officer saw, so it
// works offline and a replay on a report that changed meanwhile is refused, never applied blindly.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { graphql } from '../gql';
import type { ReportStatus, UnitKind } from '../gql/graphql';
import { load } from '../shared/data';
import { language } from '../shared/i18n';
import { session } from '../shared/session';
import { useSignal } from '../shared/signal';
import { statusLabel } from '../shared/strings';
import { ErrorMessage, Field, Loading } from '../shared/ui';
import { shrinkPhoto } from './photos';
import { type QueueItem, type ReportDetail, UnitOfficers } from './queries';
import { categoryName } from './queue';
import { Sheet } from './sheet';
import { t } from './strings';
import { act, type ReportAction } from './work';

type Form = 'status' | 'complete' | 'reject' | 'duplicate' | 'dispose' | 'assign' | 'verify';

const CLOSED: ReportStatus[] = ['COMPLETED', 'REJECTED', 'DUPLICATE'];
/** The moves changeReportStatus allows from each status, less those with their own form. */
const MOVES: Partial<Record<ReportStatus, ReportStatus[]>> = {
  WAITING: ['COORDINATION', 'IN_PROGRESS'],
  REOPENED: ['COORDINATION', 'IN_PROGRESS'],
  DISPOSITION: ['COORDINATION', 'IN_PROGRESS'],
  COORDINATION: ['IN_PROGRESS'],
  IN_PROGRESS: ['COORDINATION'],
};
const REJECTABLE: ReportStatus[] = ['WAITING', 'REOPENED', 'DISPOSITION', 'COORDINATION'];
const DISPOSABLE: ReportStatus[] = ['WAITING', 'REOPENED', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS'];
const MAX_PHOTOS = 5;

/**
 * The forms a report in this status offers (the API decides in the end). A completion waiting for verification
 * is judged by the supervising office, not by the unit that holds the report.
 */
export function formsFor(status: ReportStatus, holdsIt: boolean): Form[] {
  const forms: Form[] = [];
  if (status === 'VERIFYING' && !holdsIt) return ['verify'];
  if (MOVES[status]?.length) forms.push('status');
  if (status === 'IN_PROGRESS') forms.push('complete');
  if (DISPOSABLE.includes(status)) forms.push('dispose');
  if (!CLOSED.includes(status)) forms.push('assign');
  if (REJECTABLE.includes(status)) forms.push('duplicate', 'reject');
  return forms;
}

type Props = { report: QueueItem; detail: ReportDetail | null; onClose: () => void; kelurahanCode: string | null };

function text(value: string): string | null {
  return value.trim() ? value.trim() : null;
}

const Templates = graphql(`
  query OfficerResponseTemplates($category: String, $status: ReportStatus) {
    responseTemplates(category: $category, status: $status) { id title bodyId }
  }
`);

/** The ready notes admins wrote for this category and target status, most specific first (kept for offline). */
function TemplatePicker(props: { category: string; status: ReportStatus; onPick: (body: string) => void }) {
  const [templates, setTemplates] = useState<{ id: string; title: string; bodyId: string }[]>([]);
  const [chosen, setChosen] = useState('');
  useEffect(() => {
    // Only the answer for the status chosen last counts (the officer may change it before the first arrives).
    let current = true;
    setChosen('');
    load(Templates, { category: props.category, status: props.status })
      .then((loaded) => current && setTemplates(loaded.data.responseTemplates))
      .catch(() => current && setTemplates([]));
    return () => {
      current = false;
    };
  }, [props.category, props.status]);
  if (templates.length === 0) return null;
  return (
    <Field label={t('action.template')} hint={t('action.templateHint')}>
      <select
        value={chosen}
        onChange={(event) => {
          const template = templates.find((candidate) => candidate.id === event.currentTarget.value);
          setChosen(event.currentTarget.value);
          // The note is for the reporter and the public: in Indonesian, whatever the officer's own language.
          if (template) props.onPick(template.bodyId);
        }}
      >
        <option value="">{t('action.templateChoose', { count: templates.length })}</option>
        {templates.map((template) => (
          <option key={template.id} value={template.id}>
            {template.title}
          </option>
        ))}
      </select>
    </Field>
  );
}

function Notes(props: {
  publicNote: string;
  internalNote: string;
  setPublic: (value: string) => void;
  setInternal: (value: string) => void;
  publicLabel?: string;
  /** Offers the response templates for this category and target status. */
  templates?: { category: string; status: ReportStatus };
}) {
  return (
    <>
      {props.templates ? (
        <TemplatePicker category={props.templates.category} status={props.templates.status} onPick={props.setPublic} />
      ) : null}
      <Field label={props.publicLabel ?? t('action.publicNote')} hint={t('action.publicHint')}>
        <textarea maxLength={2000} value={props.publicNote} onInput={(event) => props.setPublic(event.currentTarget.value)} />
      </Field>
      <Field label={t('action.internalNote')} hint={t('action.internalHint')}>
        <textarea
          maxLength={2000}
          value={props.internalNote}
          onInput={(event) => props.setInternal(event.currentTarget.value)}
        />
      </Field>
    </>
  );
}

/** Sends the action through the outbox and closes the sheet; the report shows it as waiting until it is sent. */
function useSubmit(props: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (action: ReportAction) => {
    setBusy(true);
    setError(null);
    try {
      await act(action, props.report.description);
      props.onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

function StatusForm(props: Props) {
  const moves = MOVES[props.report.status] ?? [];
  const [to, setTo] = useState<ReportStatus>(moves[0]!);
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);
  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        void submit({
          kind: 'status',
          reportId: props.report.id,
          expectedStatus: props.report.status,
          to,
          publicNote: text(publicNote),
          internalNote: text(internalNote),
          reason: null,
          duplicateOf: null,
          photos: [],
          photoKeys: [],
        });
      }}
    >
      <Field label={t('action.newStatus')}>
        <select value={to} onChange={(event) => setTo(event.currentTarget.value as ReportStatus)}>
          {moves.map((status) => (
            <option key={status} value={status}>
              {t(`target.${status}` as Parameters<typeof t>[0])}
            </option>
          ))}
        </select>
      </Field>
      <Notes
        publicNote={publicNote}
        internalNote={internalNote}
        setPublic={setPublic}
        setInternal={setInternal}
        templates={{ category: props.report.category.code, status: to }}
      />
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy}>
        {t('action.save')}
      </button>
    </form>
  );
}

type Taken = { blob: Blob; url: string };

function CompleteForm(props: Props) {
  const [photos, setPhotos] = useState<Taken[]>([]);
  const [shrinking, setShrinking] = useState(false);
  const [photoError, setPhotoError] = useState<string | null>(null);
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);
  useEffect(() => () => photos.forEach((photo) => URL.revokeObjectURL(photo.url)), []);

  async function take(input: HTMLInputElement) {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (!files.length) return;
    setShrinking(true);
    setPhotoError(null);
    try {
      const made: Taken[] = [];
      for (const file of files.slice(0, MAX_PHOTOS - photos.length)) {
        const blob = await shrinkPhoto(file);
        made.push({ blob, url: URL.createObjectURL(blob) });
      }
      setPhotos((before) => [...before, ...made]);
    } catch {
      setPhotoError(t('action.photoUnreadable'));
    } finally {
      setShrinking(false);
    }
  }

  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        void submit({
          kind: 'status',
          reportId: props.report.id,
          expectedStatus: props.report.status,
          to: 'COMPLETED',
          publicNote: text(publicNote),
          internalNote: text(internalNote),
          reason: null,
          duplicateOf: null,
          photos: photos.map((photo) => photo.blob),
          photoKeys: [],
        });
      }}
    >
      <Field label={t('action.afterPhoto')} hint={t('action.afterPhotoHint')}>
        <input
          type="file"
          accept="image/*"
          capture="environment"
          disabled={photos.length >= MAX_PHOTOS || shrinking}
          onChange={(event) => void take(event.currentTarget)}
        />
      </Field>
      {shrinking ? <p role="status">{t('action.photoShrinking')}</p> : null}
      {photoError ? (
        <p class="banner banner-error" role="alert">
          {photoError}
        </p>
      ) : null}
      {photos.length ? (
        <ul class="photos">
          {photos.map((photo, index) => (
            <li key={photo.url}>
              <img src={photo.url} alt={t('action.afterPhotoTaken', { number: index + 1 })} width={120} height={120} />
              <button
                type="button"
                class="danger"
                onClick={() => {
                  URL.revokeObjectURL(photo.url);
                  setPhotos((before) => before.filter((other) => other !== photo));
                }}
              >
                {t('action.removePhoto', { number: index + 1 })}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <Notes
        publicNote={publicNote}
        internalNote={internalNote}
        setPublic={setPublic}
        setInternal={setInternal}
        templates={{ category: props.report.category.code, status: 'COMPLETED' }}
      />
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy || shrinking || photos.length === 0}>
        {t('action.complete')}
      </button>
    </form>
  );
}

function RejectForm(props: Props) {
  const [reason, setReason] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);
  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        void submit({
          kind: 'status',
          reportId: props.report.id,
          expectedStatus: props.report.status,
          to: 'REJECTED',
          publicNote: null,
          internalNote: text(internalNote),
          reason: reason.trim(),
          duplicateOf: null,
          photos: [],
          photoKeys: [],
        });
      }}
    >
      <TemplatePicker category={props.report.category.code} status="REJECTED" onPick={setReason} />
      <Field label={t('action.reason')} hint={t('action.reasonHint')}>
        <textarea required maxLength={2000} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </Field>
      <Field label={t('action.internalNote')} hint={t('action.internalHint')}>
        <textarea maxLength={2000} value={internalNote} onInput={(event) => setInternal(event.currentTarget.value)} />
      </Field>
      <ErrorMessage error={error} />
      <button class="primary danger-fill" type="submit" disabled={busy || !reason.trim()}>
        {t('action.reject')}
      </button>
    </form>
  );
}

const SearchSimilar = graphql(`
  query OfficerSimilarReports($lat: Float!, $lon: Float!, $category: String!) {
    similarReports(lat: $lat, lon: $lon, category: $category) {
      distanceM
      report { id description status createdAt category { nameId nameEn } }
    }
    nearbyReports(lat: $lat, lon: $lon, radiusM: 500, first: 30) {
      edges { node { distanceM report { id description status createdAt category { nameId nameEn } } } }
    }
  }
`);

const OPEN: ReportStatus[] = ['WAITING', 'REOPENED', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS'];

function DuplicateForm(props: Props) {
  useSignal(language);
  const { report } = props;
  const [found, setFound] = useState<
    { distanceM: number; report: { id: string; description: string; status: ReportStatus; createdAt: string; category: { nameId: string; nameEn: string } } }[] | null
  >(null);
  const [searchError, setSearchError] = useState<unknown>(null);
  const [original, setOriginal] = useState<string | null>(null);
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);

  const search = () => {
    setSearchError(null);
    load(SearchSimilar, { lat: report.location.lat, lon: report.location.lon, category: report.category.code })
      .then((loaded) => {
        const all = [...loaded.data.similarReports, ...loaded.data.nearbyReports.edges.map((edge) => edge.node)];
        const seen = new Set<string>([report.id]);
        setFound(
          all.filter((item) => {
            if (seen.has(item.report.id) || !OPEN.includes(item.report.status)) return false;
            seen.add(item.report.id);
            return true;
          }),
        );
      })
      .catch(setSearchError);
  };
  useEffect(search, [report.id]);

  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!original) return;
        void submit({
          kind: 'status',
          reportId: report.id,
          expectedStatus: report.status,
          to: 'DUPLICATE',
          publicNote: text(publicNote),
          internalNote: text(internalNote),
          reason: null,
          duplicateOf: original,
          photos: [],
          photoKeys: [],
        });
      }}
    >
      <p>{t('action.duplicateHelp')}</p>
      <ErrorMessage error={searchError} onRetry={search} />
      {found === null && !searchError ? <Loading /> : null}
      {found?.length === 0 ? <p>{t('action.noneNearby')}</p> : null}
      {found?.length ? (
        <fieldset class="choices">
          <legend>{t('action.original')}</legend>
          {found.map((item) => (
            <label key={item.report.id} class="choice">
              <input
                type="radio"
                name="original"
                value={item.report.id}
                checked={original === item.report.id}
                onChange={() => setOriginal(item.report.id)}
              />
              <span>
                <strong>{categoryName(item.report.category)}</strong> · {statusLabel(item.report.status)} ·{' '}
                {t('action.metres', { metres: Math.round(item.distanceM) })}
                <br />
                {item.report.description}
              </span>
            </label>
          ))}
        </fieldset>
      ) : null}
      <Notes
        publicNote={publicNote}
        internalNote={internalNote}
        setPublic={setPublic}
        setInternal={setInternal}
        templates={{ category: report.category.code, status: 'DUPLICATE' }}
      />
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy || !original}>
        {t('action.markDuplicate')}
      </button>
    </form>
  );
}

const Units = graphql(`
  query OfficerUnits($kind: UnitKind!) {
    units(kind: $kind) { code name kind kota { name } }
  }
`);

const KINDS: UnitKind[] = ['AGENCY', 'KELURAHAN', 'EXTERNAL'];

function DisposeForm(props: Props) {
  const [kind, setKind] = useState<UnitKind>('AGENCY');
  const [units, setUnits] = useState<{ code: string; name: string; kota: { name: string } | null }[] | null>(null);
  const [unitsError, setUnitsError] = useState<unknown>(null);
  const [filter, setFilter] = useState('');
  const [unit, setUnit] = useState('');
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);

  const asked = useRef<UnitKind>(kind);
  const fetchUnits = () => {
    const wanted = kind;
    asked.current = wanted;
    setUnits(null);
    setUnitsError(null);
    // Only the answer for the kind chosen last counts.
    load(Units, { kind: wanted })
      .then((loaded) => {
        if (asked.current === wanted) setUnits(loaded.data.units.filter((candidate) => candidate.code !== props.report.unit.code));
      })
      .catch((caught: unknown) => asked.current === wanted && setUnitsError(caught));
  };
  useEffect(() => {
    setUnit('');
    fetchUnits();
  }, [kind]);
  const shown = useMemo(() => {
    const words = filter.trim().toLowerCase();
    return (units ?? []).filter((candidate) => !words || `${candidate.name} ${candidate.kota?.name ?? ''}`.toLowerCase().includes(words));
  }, [units, filter]);
  const chosen = units?.find((candidate) => candidate.code === unit);

  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!chosen) return;
        void submit({
          kind: 'dispose',
          reportId: props.report.id,
          expectedStatus: props.report.status,
          toUnit: chosen.code,
          toUnitName: chosen.name,
          publicNote: text(publicNote),
          internalNote: text(internalNote),
        });
      }}
    >
      <Field label={t('action.unitKind')}>
        <select value={kind} onChange={(event) => setKind(event.currentTarget.value as UnitKind)}>
          {KINDS.map((value) => (
            <option key={value} value={value}>
              {t(`unitKind.${value}` as Parameters<typeof t>[0])}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('action.unitSearch')}>
        <input type="search" value={filter} onInput={(event) => setFilter(event.currentTarget.value)} />
      </Field>
      <ErrorMessage error={unitsError} onRetry={fetchUnits} />
      {units === null && !unitsError ? <Loading /> : null}
      {units ? (
        <Field label={t('action.unit')}>
          <select required value={unit} onChange={(event) => setUnit(event.currentTarget.value)}>
            <option value="">{t('action.unitChoose', { count: shown.length })}</option>
            {shown.map((candidate) => (
              <option key={candidate.code} value={candidate.code}>
                {candidate.kota ? `${candidate.name} (${candidate.kota.name})` : candidate.name}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      <Notes
        publicNote={publicNote}
        internalNote={internalNote}
        setPublic={setPublic}
        setInternal={setInternal}
        templates={{ category: props.report.category.code, status: 'DISPOSITION' }}
      />
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy || !chosen}>
        {t('action.dispose')}
      </button>
    </form>
  );
}

function AssignForm(props: Props) {
  const me = session.account();
  const ownUnit = me?.unit?.code === props.report.unit.code;
  const [officers, setOfficers] = useState<{ id: string; displayName: string }[] | null>(null);
  const [officersError, setOfficersError] = useState<unknown>(null);
  const [chosen, setChosen] = useState('');
  const { busy, error, submit } = useSubmit(props);
  const fetchOfficers = () => {
    setOfficersError(null);
    load(UnitOfficers, { unit: props.report.unit.code })
      .then((loaded) => setOfficers(loaded.data.unitOfficers))
      .catch(setOfficersError);
  };
  useEffect(fetchOfficers, [props.report.unit.code]);
  const assign = (assignee: string | null, name: string | null) =>
    void submit({
      kind: 'assign',
      reportId: props.report.id,
      expectedStatus: props.report.status,
      assignee,
      assigneeName: name,
    });
  return (
    <div class="form">
      <p>{t('action.assignedNow', { name: props.report.assignee?.displayName ?? t('report.nobody') })}</p>
      {ownUnit && me ? (
        <button type="button" class="primary" disabled={busy} onClick={() => assign(me.id, me.displayName)}>
          {t('action.assignMe')}
        </button>
      ) : (
        <p class="muted">{t('action.otherUnit', { unit: props.report.unit.name })}</p>
      )}
      <ErrorMessage error={officersError} onRetry={fetchOfficers} />
      {officers === null && !officersError ? <Loading /> : null}
      {officers ? (
        <form
          class="form"
          onSubmit={(event) => {
            event.preventDefault();
            const officer = officers.find((candidate) => candidate.id === chosen);
            if (officer) assign(officer.id, officer.displayName);
          }}
        >
          <Field label={t('action.officer')}>
            <select required value={chosen} onChange={(event) => setChosen(event.currentTarget.value)}>
              <option value="">{t('action.officerChoose', { count: officers.length })}</option>
              {officers.map((officer) => (
                <option key={officer.id} value={officer.id}>
                  {officer.displayName}
                </option>
              ))}
            </select>
          </Field>
          <button type="submit" disabled={busy || !chosen}>
            {t('action.assign')}
          </button>
        </form>
      ) : null}
      {props.report.assignee ? (
        <button type="button" class="danger" disabled={busy} onClick={() => assign(null, null)}>
          {t('action.release')}
        </button>
      ) : null}
      <ErrorMessage error={error} />
    </div>
  );
}

function VerifyForm(props: Props) {
  const [accept, setAccept] = useState<boolean | null>(null);
  const [reason, setReason] = useState('');
  const [publicNote, setPublic] = useState('');
  const [internalNote, setInternal] = useState('');
  const { busy, error, submit } = useSubmit(props);
  const photos = props.detail?.afterPhotos.length ?? 0;
  return (
    <form
      class="form"
      onSubmit={(event) => {
        event.preventDefault();
        if (accept === null) return;
        void submit({
          kind: 'verify',
          reportId: props.report.id,
          expectedStatus: props.report.status,
          accept,
          reason: accept ? null : reason.trim(),
          publicNote: text(publicNote),
          internalNote: text(internalNote),
        });
      }}
    >
      <p>{t('action.verifyHelp')}</p>
      {photos ? (
        <p class="muted">
          {t('report.afterPhotos')}: {photos}
        </p>
      ) : null}
      <fieldset class="choices">
        <legend>{t('action.verdict')}</legend>
        <label class="choice">
          <input type="radio" name="verdict" checked={accept === true} onChange={() => setAccept(true)} />
          <span>{t('action.accept')}</span>
        </label>
        <label class="choice">
          <input type="radio" name="verdict" checked={accept === false} onChange={() => setAccept(false)} />
          <span>{t('action.sendBack')}</span>
        </label>
      </fieldset>
      {accept === false ? (
        <Field label={t('action.sendBackReason')} hint={t('action.sendBackHint')}>
          <textarea required maxLength={2000} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
        </Field>
      ) : null}
      <Notes publicNote={publicNote} internalNote={internalNote} setPublic={setPublic} setInternal={setInternal} />
      <ErrorMessage error={error} />
      <button class="primary" type="submit" disabled={busy || accept === null || (accept === false && !reason.trim())}>
        {t('action.submitVerdict')}
      </button>
    </form>
  );
}

const FORMS: Record<Form, (props: Props) => preact.JSX.Element> = {
  verify: VerifyForm,
  status: StatusForm,
  complete: CompleteForm,
  reject: RejectForm,
  duplicate: DuplicateForm,
  dispose: DisposeForm,
  assign: AssignForm,
};

export function ActionSheet(props: Props) {
  useSignal(language);
  const [form, setForm] = useState<Form | null>(null);
  const forms = formsFor(props.report.status, session.account()?.unit?.code === props.report.unit.code);
  const Chosen = form ? FORMS[form] : null;
  return (
    <Sheet title={form ? t(`form.${form}` as Parameters<typeof t>[0]) : t('action.title')} onClose={props.onClose}>
      <p class="muted">
        {categoryName(props.report.category)} · {statusLabel(props.report.status)}
      </p>
      {Chosen ? (
        <>
          <Chosen {...props} />
          <button type="button" class="link" onClick={() => setForm(null)}>
            {t('action.otherActions')}
          </button>
        </>
      ) : forms.length ? (
        <ul class="action-list">
          {forms.map((name) => (
            <li key={name}>
              <button type="button" onClick={() => setForm(name)}>
                {t(`form.${name}` as Parameters<typeof t>[0])}
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>{t('action.none')}</p>
      )}
    </Sheet>
  );
}

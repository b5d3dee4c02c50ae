// Filing a report from the street: photos from the camera (made small on the phone), the phone's position with
// its accuracy (a map pin to correct it, loaded only on request), where the report will go, a category, similar
// open reports nearby to support instead, privacy choices in plain words, a description. "Send" keeps the report
// in the outbox first, so a dead connection loses nothing: it goes when the phone is online.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CategoriesQuery, KelurahanAtQuery, SimilarReportsQuery } from '../gql/graphql';
import { NetworkError, request } from '../shared/api';
import { language } from '../shared/i18n';
import { navigate } from '../shared/router';
import { online } from '../shared/pwa';
import { useSignal } from '../shared/signal';
import { ErrorMessage, Field, Loading, SavedAt, StatusBadge, value } from '../shared/ui';
import { fileReport, support } from './actions';
import { categoryName } from './categories';
import { Icon } from './icons';
import { Screen, useLoaded } from './layout';
import { PinMap, type Point } from './map';
import { MAX_PHOTOS, shrink } from './photos';
import { Categories, KelurahanAt, SimilarReports } from './queries';
import { t } from './strings';

type Category = CategoriesQuery['categories'][number];
type Place = { lat: number; lon: number; accuracyM: number | null; source: 'gps' | 'map' };
type Picture = { blob: Blob; url: string };
type Similar = SimilarReportsQuery['similarReports'][number];

/** Accuracy beyond which the citizen is asked to check the point on the map. */
const POOR_ACCURACY_M = 100;

function rounded(value: number): string {
  return value.toFixed(5);
}

/** The phone's position, followed while the screen is open; `error` when it is refused or unavailable. */
function usePosition(): { position: Place | null; error: boolean; ask: () => void } {
  const [position, setPosition] = useState<Place | null>(null);
  const [error, setError] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!('geolocation' in navigator)) {
      setError(true);
      return;
    }
    const watch = navigator.geolocation.watchPosition(
      (found) => {
        setError(false);
        setPosition({
          lat: found.coords.latitude,
          lon: found.coords.longitude,
          accuracyM: Math.round(found.coords.accuracy),
          source: 'gps',
        });
      },
      () => setError(true),
      { enableHighAccuracy: true, maximumAge: 15_000, timeout: 30_000 },
    );
    return () => navigator.geolocation.clearWatch(watch);
  }, [attempt]);
  return { position, error, ask: () => setAttempt((n) => n + 1) };
}

/** Answers a query about the chosen point, asked again when `key` (the point, rounded) changes. */
function usePointQuery<R>(key: string | null, ask: () => Promise<R>): { data: R | null; offline: boolean } {
  const [data, setData] = useState<R | null>(null);
  const [offline, setOffline] = useState(false);
  useEffect(() => {
    if (key === null) return;
    let current = true;
    const timer = setTimeout(() => {
      ask()
        .then((answer) => {
          if (!current) return;
          setData(answer);
          setOffline(false);
        })
        .catch((error: unknown) => {
          if (!current) return;
          setData(null);
          setOffline(error instanceof NetworkError);
        });
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key]);
  return { data, offline };
}

function Photos(props: { pictures: Picture[]; onChange: (next: Picture[]) => void }) {
  const [preparing, setPreparing] = useState(false);
  const [failed, setFailed] = useState(false);
  const full = props.pictures.length >= MAX_PHOTOS;

  async function add(event: Event) {
    const input = event.currentTarget as HTMLInputElement;
    const files = Array.from(input.files ?? []).slice(0, MAX_PHOTOS - props.pictures.length);
    input.value = '';
    if (files.length === 0) return;
    setPreparing(true);
    setFailed(false);
    const added: Picture[] = [];
    for (const file of files) {
      try {
        const blob = await shrink(file);
        added.push({ blob, url: URL.createObjectURL(blob) });
      } catch {
        setFailed(true);
      }
    }
    setPreparing(false);
    props.onChange([...props.pictures, ...added]);
  }

  function remove(index: number) {
    const gone = props.pictures[index];
    if (gone) URL.revokeObjectURL(gone.url);
    props.onChange(props.pictures.filter((_, position) => position !== index));
  }

  return (
    <section class="card" aria-labelledby="photos-title">
      <h2 id="photos-title">{t('new.photos')}</h2>
      <p class="field-hint">{t('new.photosHint', { max: MAX_PHOTOS })}</p>
      {props.pictures.length > 0 ? (
        <ul class="thumbs">
          {props.pictures.map((picture, index) => (
            <li key={picture.url}>
              <img src={picture.url} alt={t('new.photoAlt', { n: index + 1 })} />
              <button type="button" class="danger" onClick={() => remove(index)}>
                {t('new.removePhoto', { n: index + 1 })}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {full ? (
        <p class="field-hint">{t('new.photosFull', { max: MAX_PHOTOS })}</p>
      ) : (
        <label class="camera-button">
          <input
            class="visually-hidden"
            type="file"
            accept="image/*"
            capture="environment"
            onChange={(event) => void add(event)}
          />
          <Icon name="camera" /> {t('new.takePhoto')}
        </label>
      )}
      {preparing ? (
        <p class="loading" role="status">
          {t('new.preparing')}
        </p>
      ) : null}
      {failed ? (
        <p class="banner banner-error" role="alert">
          {t('new.photoFailed')}
        </p>
      ) : null}
    </section>
  );
}

function Where(props: {
  place: Place | null;
  gpsError: boolean;
  match: { data: KelurahanAtQuery | null; offline: boolean };
  onUseMine: () => void;
  onPick: (point: Point) => void;
}) {
  const [mapOpen, setMapOpen] = useState(false);
  const { place, match } = props;
  const found = match.data?.kelurahanAt ?? null;
  return (
    <section class="card" aria-labelledby="where-title">
      <h2 id="where-title">{t('new.location')}</h2>
      {place === null ? (
        props.gpsError ? (
          <p class="banner banner-error" role="alert">
            {t('new.noLocation')}
          </p>
        ) : (
          <p class="loading" role="status">
            {t('new.locating')}
          </p>
        )
      ) : (
        <div role="status">
          <p class="place-source">
            {place.source === 'gps' && place.accuracyM !== null
              ? t('new.accuracy', { metres: place.accuracyM })
              : t('new.pinned')}
          </p>
          <p class="field-hint">{t('new.coordinates', { lat: rounded(place.lat), lon: rounded(place.lon) })}</p>
          {place.source === 'gps' && place.accuracyM !== null && place.accuracyM > POOR_ACCURACY_M ? (
            <p class="banner banner-saved">{t('new.accuracyPoor', { metres: place.accuracyM })}</p>
          ) : null}
          {match.data && !found ? (
            <p class="banner banner-error">{t('new.outside')}</p>
          ) : found ? (
            <p class="goes-to">
              {t(found.distanceM > 0 ? 'new.goesToNear' : 'new.goesTo', {
                kelurahan: found.kelurahan.name,
                kecamatan: found.kelurahan.kecamatan.name,
                kota: found.kelurahan.kota.name,
                metres: Math.round(found.distanceM),
              })}
            </p>
          ) : match.offline ? (
            <p class="field-hint">{t('new.goesToLater')}</p>
          ) : null}
        </div>
      )}
      <div class="button-row">
        <button type="button" onClick={props.onUseMine}>
          <Icon name="pin" /> {t('new.useMyPosition')}
        </button>
        <button type="button" aria-expanded={mapOpen} onClick={() => setMapOpen(!mapOpen)}>
          <Icon name="map" /> {mapOpen ? t('new.closeMap') : t('new.openMap')}
        </button>
      </div>
      {mapOpen ? <PinMap point={place ?? JAKARTA_CENTRE} onPick={props.onPick} /> : null}
    </section>
  );
}

/** Where the map opens when the phone gives no position: Monas. */
const JAKARTA_CENTRE: Point = { lat: -6.1754, lon: 106.8272 };

function CategoryPicker(props: {
  categories: Category[];
  chosen: string | null;
  onChoose: (code: string) => void;
}) {
  const lang = useSignal(language);
  return (
    <fieldset class="card categories">
      <legend>{t('new.category')}</legend>
      <div class="category-grid">
        {props.categories.map((category) => (
          <label key={category.code} class="category-tile">
            <input
              type="radio"
              name="category"
              value={category.code}
              checked={props.chosen === category.code}
              onChange={() => props.onChoose(category.code)}
            />
            <Icon name={category.code} class="category-icon" />
            <span>{categoryName(category, lang)}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function SimilarList(props: { items: Similar[] }) {
  const lang = useSignal(language);
  const [busy, setBusy] = useState(false);
  if (props.items.length === 0) return null;

  async function supportInstead(id: string) {
    setBusy(true);
    await support(id, true);
    navigate(`/report/${id}`);
  }

  return (
    <section class="card similar" aria-labelledby="similar-title">
      <h2 id="similar-title">{t('new.similarTitle')}</h2>
      <p>{t('new.similarLead')}</p>
      <ul class="list">
        {props.items.map(({ report, distanceM }) => (
          <li key={report.id} class="similar-item">
            <p class="report-category">
              <Icon name={report.category.code} /> {categoryName(report.category, lang)}
            </p>
            <p>{report.description}</p>
            <p class="report-meta">
              <StatusBadge status={report.status} /> {t('new.similarDistance', { metres: Math.round(distanceM) })} ·{' '}
              {t('mine.supports', { count: report.supportCount })}
            </p>
            <div class="button-row">
              {!report.filedByMe && !report.supportedByMe ? (
                <button type="button" class="primary" disabled={busy} onClick={() => void supportInstead(report.id)}>
                  {t('new.supportInstead')}
                </button>
              ) : null}
              <a class="button-link" href={`#/report/${report.id}`}>
                {t('new.seeReport')}
              </a>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function NewReportScreen() {
  const lang = useSignal(language);
  const isOnline = useSignal(online);
  const categories = useLoaded(Categories, {}, 'categories');
  const gps = usePosition();
  const [pinned, setPinned] = useState<Place | null>(null);
  const [pictures, setPictures] = useState<Picture[]>([]);
  const [category, setCategory] = useState<string | null>(null);
  const [description, setDescription] = useState('');
  const [anonymous, setAnonymous] = useState(true);
  const [confidential, setConfidential] = useState(false);
  const [missing, setMissing] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const kept = useRef(pictures);
  kept.current = pictures;
  useEffect(() => () => kept.current.forEach((picture) => URL.revokeObjectURL(picture.url)), []);

  const place = pinned ?? gps.position;
  // About 10 m: the phone's position wanders by a few metres every second; what is near and where it goes does not.
  const pointKey = place ? `${place.lat.toFixed(4)},${place.lon.toFixed(4)}` : null;
  const match = usePointQuery(pointKey, () => request(KelurahanAt, { lat: place!.lat, lon: place!.lon }));
  const similar = usePointQuery(pointKey && category ? `${pointKey}:${category}` : null, () =>
    request(SimilarReports, { lat: place!.lat, lon: place!.lon, category: category! }),
  );
  const chosen = categories.data?.categories.find((candidate) => candidate.code === category) ?? null;
  const forcedConfidential = chosen?.confidential ?? false;
  const outside = match.data !== null && match.data.kelurahanAt === null;

  function useMine() {
    setPinned(null);
    gps.ask();
  }

  async function submit(event: Event) {
    event.preventDefault();
    const lacking: string[] = [];
    if (!place) lacking.push(t('new.location'));
    if (!chosen) lacking.push(t('new.category'));
    if (!description.trim()) lacking.push(t('new.description'));
    setMissing(lacking);
    if (!place || !chosen || lacking.length > 0 || outside) return;
    setBusy(true);
    setError(null);
    try {
      await fileReport(
        {
          category: chosen.code,
          categoryNameId: chosen.nameId,
          categoryNameEn: chosen.nameEn,
          description: description.trim(),
          lat: place.lat,
          lon: place.lon,
          accuracyM: place.source === 'gps' ? place.accuracyM : null,
          anonymous,
          confidential: confidential || forcedConfidential,
        },
        pictures.map((picture) => picture.blob),
        t('action.report', { category: categoryName(chosen, lang) }),
      );
      navigate('/');
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Screen title={t('new.title')} tab="new">
      <form class="form" onSubmit={(event) => void submit(event)} noValidate>
        <Photos pictures={pictures} onChange={setPictures} />
        <Where
          place={place}
          gpsError={gps.error}
          match={match}
          onUseMine={useMine}
          onPick={(point) => setPinned({ ...point, accuracyM: null, source: 'map' })}
        />
        <SavedAt savedAt={categories.savedAt} />
        {categories.data ? (
          <CategoryPicker categories={categories.data.categories} chosen={category} onChoose={setCategory} />
        ) : categories.error ? (
          <p class="banner banner-error" role="alert">
            {t('new.categoriesUnavailable')}
          </p>
        ) : (
          <Loading />
        )}
        <SimilarList items={similar.data?.similarReports ?? []} />
        <div class="card form">
          <Field label={t('new.description')} hint={t('new.descriptionHint')}>
            <textarea
              name="description"
              maxLength={2000}
              required
              value={description}
              onInput={(event) => setDescription(value(event))}
            />
          </Field>
        </div>
        <fieldset class="card privacy">
          <legend>{t('new.privacy')}</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={anonymous}
              aria-describedby="anonymous-hint"
              onChange={(event) => setAnonymous(event.currentTarget.checked)}
            />
            <span>{t('new.anonymous')}</span>
          </label>
          <p id="anonymous-hint" class="field-hint">
            {t('new.anonymousHint')}
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={confidential || forcedConfidential}
              disabled={forcedConfidential}
              aria-describedby="confidential-hint"
              onChange={(event) => setConfidential(event.currentTarget.checked)}
            />
            <span>{t('new.confidential')}</span>
          </label>
          <p id="confidential-hint" class="field-hint">
            {t('new.confidentialHint')} {forcedConfidential ? t('new.confidentialForced') : ''}
          </p>
        </fieldset>
        {missing.length > 0 ? (
          <p class="banner banner-error" role="alert">
            {t('new.incomplete', { missing: missing.join(', ') })}
          </p>
        ) : null}
        <ErrorMessage error={error} />
        <button class="primary" type="submit" disabled={busy || outside}>
          {isOnline ? t('new.submit') : t('new.submitOffline')}
        </button>
      </form>
    </Screen>
  );
}

// The few components both apps share. No component library: plain elements styled by styles.css, so the apps
// stay small on a slow connection and every control is a real button, link or labelled input.
import type { ComponentChildren, TargetedEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { formatDateTime, LANGUAGES, language, setLanguage } from './i18n';
import { dismiss, flush, watchOutbox } from './outbox';
import { online } from './pwa';
import { useSignal } from './signal';
import type { OutboxEntry } from './store';
import { errorText, statusLabel, tc } from './strings';

export function TopBar(props: { title: string; back?: string; actions?: ComponentChildren }) {
  useSignal(language);
  return (
    <header class="topbar">
      {props.back ? (
        <a class="topbar-back" href={props.back}>
          <span aria-hidden="true">←</span> {tc('app.back')}
        </a>
      ) : null}
      <h1>{props.title}</h1>
      <div class="topbar-actions">{props.actions}</div>
    </header>
  );
}

export function LanguageSwitch() {
  const current = useSignal(language);
  return (
    <label class="language">
      <span>{tc('app.language')}</span>
      <select value={current} onChange={(event) => setLanguage((event.currentTarget.value as 'id' | 'en') ?? 'id')}>
        {LANGUAGES.map((code) => (
          <option key={code} value={code}>
            {code === 'id' ? 'Indonesia' : 'English'}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Says when the phone is offline; what is shown then comes from the phone. */
export function ConnectionBanner() {
  const isOnline = useSignal(online);
  useSignal(language);
  if (isOnline) return null;
  return (
    <p class="banner banner-offline" role="status">
      {tc('app.offline')}
    </p>
  );
}

export function SavedAt(props: { savedAt: number | null }) {
  useSignal(language);
  if (props.savedAt === null) return null;
  return (
    <p class="banner banner-saved" role="status">
      {tc('app.savedAt', { time: formatDateTime(new Date(props.savedAt).toISOString()) })}
    </p>
  );
}

export function ErrorMessage(props: { error: unknown; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="banner banner-error" role="alert">
      <p>{errorText(props.error)}</p>
      {props.onRetry ? (
        <button type="button" onClick={props.onRetry}>
          {tc('app.retry')}
        </button>
      ) : null}
    </div>
  );
}

export function Loading() {
  return (
    <p class="loading" role="status" aria-live="polite">
      {tc('app.loading')}
    </p>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`status status-${props.status.toLowerCase()}`}>{statusLabel(props.status)}</span>;
}

/** The actions still waiting for the API, and those it refused (with its reason), until dismissed. */
export function OutboxPanel() {
  const [entries, setEntries] = useState<OutboxEntry[]>([]);
  useSignal(language);
  useEffect(() => watchOutbox(setEntries), []);
  if (entries.length === 0) return null;
  return (
    <section class="outbox" aria-labelledby="outbox-title">
      <h2 id="outbox-title">{tc('outbox.title')}</h2>
      <ul>
        {entries.map((entry) => (
          <li key={entry.id} class={`outbox-${entry.state}`}>
            <span class="outbox-label">{entry.label}</span>
            {entry.state === 'refused' ? (
              <>
                <span class="outbox-state">
                  {tc('outbox.refused')}: {errorText(entry.error)}
                </span>
                <button type="button" onClick={() => void dismiss(entry.id)}>
                  {tc('outbox.dismiss')}
                </button>
              </>
            ) : (
              <>
                <span class="outbox-state">{tc('outbox.pending')}</span>
                <button type="button" onClick={() => void flush()}>
                  {tc('outbox.sendNow')}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Field(props: { label: string; hint?: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span class="field-hint">{props.hint}</span> : null}
    </label>
  );
}

export type FieldEvent = TargetedEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, Event>;

export function value(event: FieldEvent): string {
  return event.currentTarget.value;
}

// Indonesian first, English on request. Each app has its dictionaries (the Indonesian one defines the keys, the
// English one must have every key: the compiler checks it); the choice is kept on the phone.
import { signal } from './signal';

export type Language = 'id' | 'en';
export const LANGUAGES: Language[] = ['id', 'en'];

const STORAGE_KEY = 'jsc.language';

function initial(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved === 'en' || saved === 'id' ? saved : 'id';
}

export const language = signal<Language>(initial());

export function setLanguage(next: Language): void {
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  language.set(next);
}

export type Dictionary<K extends string> = Record<K, string>;

/**
 * A translator over an app's dictionaries: `t('queue.title')`, with `{name}` placeholders filled from `params`.
 */
export function translator<K extends string>(dictionaries: { id: Dictionary<K>; en: Dictionary<K> }) {
  return (key: K, params: Record<string, string | number> = {}): string => {
    const text = dictionaries[language.get()][key] ?? dictionaries.id[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
  };
}

/** Dates and times in the reader's language, in Jakarta's time zone wherever the phone is. */
export function formatDateTime(iso: string): string {
  return new Intl.DateTimeFormat(language.get() === 'id' ? 'id-ID' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Jakarta',
  }).format(new Date(iso));
}

export function formatRelative(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(language.get() === 'id' ? 'id' : 'en', { numeric: 'auto' });
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, 'second');
}

// Screens are addressed by the URL's hash (#/report/123), so the server serves one page per app and a reload
// or a shared link opens the same screen, offline too.
import { useEffect, useState } from 'preact/hooks';

/** The route the URL holds now (which a screen's last render may not have caught up with yet). */
export function current(): string {
  return location.hash.replace(/^#/, '') || '/';
}

export function useRoute(): string {
  const [route, setRoute] = useState(current());
  useEffect(() => {
    const follow = () => setRoute(current());
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return route;
}

export function navigate(route: string): void {
  location.hash = route;
}

/** `match('/report/:id', '/report/12')` → `{ id: '12' }`, or null. */
export function match(pattern: string, route: string): Record<string, string> | null {
  const parts = pattern.split('/');
  const given = route.split('?')[0]!.split('/');
  if (parts.length !== given.length) return null;
  const params: Record<string, string> = {};
  for (let index = 0; index < parts.length; index += 1) {
    const part = parts[index]!;
    const value = given[index]!;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(value);
    else if (part !== value) return null;
  }
  return params;
}

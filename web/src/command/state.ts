// Pure decisions of the wall, kept apart from the screens.
import type { ReportStatus, WallFilterInput } from '../gql/graphql';

export type CameraState = 'alert' | 'fault' | 'ok' | 'unknown';

/** How long after its last alert a camera stays marked on the map. */
export const ALERT_FRESH_MS = 15 * 60_000;

/** A camera's colour on the map: a recent alert first, then a fault its video showed, then its health. */
export function cameraState(camera: { health: string | null; lastAlertAt: string | null }, now: number): CameraState {
  if (camera.lastAlertAt && now - new Date(camera.lastAlertAt).getTime() < ALERT_FRESH_MS) return 'alert';
  if (camera.health && camera.health !== 'OK') return 'fault';
  return camera.health === 'OK' ? 'ok' : 'unknown';
}

export const CAMERA_COLOURS: Record<CameraState, string> = {
  alert: '#b91c1c',
  fault: '#b45309',
  ok: '#15803d',
  unknown: '#4b5563',
};

export const STATUS_COLOURS: [string, string][] = [
  ['WAITING', '#b45309'],
  ['REOPENED', '#b45309'],
  ['COORDINATION', '#1d4ed8'],
  ['DISPOSITION', '#6d28d9'],
  ['IN_PROGRESS', '#1d4ed8'],
  ['VERIFYING', '#a16207'],
  ['COMPLETED', '#15803d'],
];

export const OPEN_STATUSES: ReportStatus[] = ['WAITING', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS', 'VERIFYING', 'REOPENED'];
export const ALL_STATUSES: ReportStatus[] = [...OPEN_STATUSES, 'COMPLETED', 'REJECTED', 'DUPLICATE'];

export type Filter = { unitId: string; category: string; status: string };
export const NO_FILTER: Filter = { unitId: '', category: '', status: '' };

/** The filter as wallStats takes it: '' leaves a dimension open; status 'OPEN' is every open status. */
export function statsFilter(filter: Filter): WallFilterInput {
  return {
    unitIds: filter.unitId ? [filter.unitId] : null,
    categories: filter.category ? [filter.category] : null,
    statuses: filter.status === 'OPEN' ? OPEN_STATUSES : filter.status ? [filter.status as ReportStatus] : null,
  };
}

/** The report tiles' query string for the same filter (the tiles take ids and codes comma-separated). */
export function tileQuery(filter: Filter, version: number): string {
  const params = new URLSearchParams();
  const flt = statsFilter(filter);
  if (flt.unitIds) params.set('units', flt.unitIds.join(','));
  if (flt.categories) params.set('categories', flt.categories.join(','));
  if (flt.statuses) params.set('statuses', flt.statuses.join(','));
  if (version) params.set('v', String(version));
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** The sparkline's polyline points in a width × height box, oldest left; null with fewer than two readings. */
export function sparkline(values: number[], width: number, height: number, ceiling: number | null): string | null {
  if (values.length < 2) return null;
  const top = Math.max(ceiling ?? 0, ...values);
  const bottom = Math.min(...values, 0);
  const span = top - bottom || 1;
  return values
    .map((value, index) => {
      const x = (index / (values.length - 1)) * width;
      const y = height - ((value - bottom) / span) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

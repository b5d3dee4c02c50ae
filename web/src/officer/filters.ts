// The work queue's filters live in the URL's hash (#/?status=WAITING&overdue=1&mine=1), so a reload, the back
// button or a shared link shows the same queue. Parsing and writing them are plain functions over strings.
import type { ReportStatus, WorkQueueFilter } from '../gql/graphql';

/** Every status an officer may filter on; the queue shows the open ones when none is chosen. */
export const STATUSES: ReportStatus[] = [
  'WAITING',
  'REOPENED',
  'COORDINATION',
  'DISPOSITION',
  'IN_PROGRESS',
  'COMPLETED',
  'REJECTED',
  'DUPLICATE',
  'VERIFYING',
];

export type QueueView = 'list' | 'map';

export type QueueFilters = {
  status: ReportStatus | null;
  category: string | null;
  /** true: past their deadline; false: within it; null: both. */
  overdue: boolean | null;
  mine: boolean;
  /** Only reports changed since the last look. */
  fresh: boolean;
  /** Only completions waiting for this officer's office to verify them (a camat's office). */
  verify: boolean;
  view: QueueView;
};

export const NO_FILTERS: QueueFilters = {
  status: null,
  category: null,
  overdue: null,
  mine: false,
  fresh: false,
  verify: false,
  view: 'list',
};

export function parseFilters(route: string): QueueFilters {
  const query = new URLSearchParams(route.split('?')[1] ?? '');
  const status = query.get('status');
  const overdue = query.get('overdue');
  return {
    status: STATUSES.includes(status as ReportStatus) ? (status as ReportStatus) : null,
    category: query.get('category') || null,
    overdue: overdue === '1' ? true : overdue === '0' ? false : null,
    mine: query.get('mine') === '1',
    fresh: query.get('new') === '1',
    verify: query.get('verify') === '1',
    view: query.get('view') === 'map' ? 'map' : 'list',
  };
}

export function filtersRoute(filters: QueueFilters): string {
  const query = new URLSearchParams();
  if (filters.status) query.set('status', filters.status);
  if (filters.category) query.set('category', filters.category);
  if (filters.overdue !== null) query.set('overdue', filters.overdue ? '1' : '0');
  if (filters.mine) query.set('mine', '1');
  if (filters.fresh) query.set('new', '1');
  if (filters.verify) query.set('verify', '1');
  if (filters.view === 'map') query.set('view', 'map');
  const text = query.toString();
  return text ? `/?${text}` : '/';
}

/** A change commits with the time it was made, up to this much after another one seen already. */
export const LATE_COMMIT_MS = 60_000;

/**
 * The API's filter for these choices (null when nothing narrows the default: the open reports). "New since the
 * last look" asks for what changed after it, less a minute for changes that committed late (the closed ones too:
 * the officer learns what left the queue).
 */
export function apiFilter(filters: QueueFilters, lastLook: string | null = null): WorkQueueFilter | null {
  const filter: WorkQueueFilter = {};
  if (filters.fresh && lastLook) filter.changedSince = new Date(new Date(lastLook).getTime() - LATE_COMMIT_MS).toISOString();
  if (filters.status) filter.status = [filters.status];
  if (filters.category) filter.category = filters.category;
  if (filters.overdue !== null) filter.overdue = filters.overdue;
  if (filters.mine) filter.assignedToMe = true;
  if (filters.verify) filter.awaitingMyVerification = true;
  return Object.keys(filter).length ? filter : null;
}

// The officer's actions on reports, as outbox entries: each is kept on the phone first and sent when there is
// a connection, in the order taken, with the entry's id as its idempotency key (clientRequestId) and the
// status the officer saw (expectedStatus), so that a replay of an action on a report that changed meanwhile is
// refused (STALE) and shown, never applied blindly.
import { graphql } from '../gql';
import type { ReportStatus } from '../gql/graphql';
import { ApiError, newRequestId, Refusal, request } from '../shared/api';
import { enqueue, handle } from '../shared/outbox';
import { signal } from '../shared/signal';
import { outboxAll, outboxPut } from '../shared/store';
import { errorText, statusLabel } from '../shared/strings';
import { uploadPhoto } from './photos';
import { t } from './strings';

const ChangeStatus = graphql(`
  mutation OfficerChangeStatus($input: ChangeReportStatusInput!) {
    changeReportStatus(input: $input) {
      report { id status updatedAt }
      errors { code message }
    }
  }
`);

const Dispose = graphql(`
  mutation OfficerDispose($input: DisposeReportInput!) {
    disposeReport(input: $input) {
      report { id status updatedAt }
      errors { code message }
    }
  }
`);

const Assign = graphql(`
  mutation OfficerAssign($input: AssignReportInput!) {
    assignReport(input: $input) {
      report { id status updatedAt }
      errors { code message }
    }
  }
`);

const Verify = graphql(`
  mutation OfficerVerify($input: VerifyCompletionInput!) {
    verifyCompletion(input: $input) {
      report { id status updatedAt }
      errors { code message }
    }
  }
`);

const BulkAssign = graphql(`
  mutation OfficerBulkAssign($input: BulkAssignReportsInput!) {
    bulkAssignReports(input: $input) {
      results { reportId report { id status } errors { code message } }
      errors { code message }
    }
  }
`);

const BulkStatus = graphql(`
  mutation OfficerBulkStatus($input: BulkChangeReportStatusInput!) {
    bulkChangeReportStatus(input: $input) {
      results { reportId report { id status } errors { code message } }
      errors { code message }
    }
  }
`);

/** What every action on one report carries. */
type OnReport = {
  reportId: string;
  /** The status the officer saw when deciding. */
  expectedStatus: ReportStatus;
};

export type StatusAction = OnReport & {
  kind: 'status';
  to: ReportStatus;
  publicNote: string | null;
  internalNote: string | null;
  reason: string | null;
  duplicateOf: string | null;
  /** Photos taken on the phone, not yet uploaded (kept as they are in IndexedDB). */
  photos: Blob[];
  /** Keys of the photos already uploaded: a retry does not upload them again. */
  photoKeys: string[];
};

export type DisposeAction = OnReport & {
  kind: 'dispose';
  toUnit: string;
  toUnitName: string;
  publicNote: string | null;
  internalNote: string | null;
};

export type AssignAction = OnReport & { kind: 'assign'; assignee: string | null; assigneeName: string | null };

/** The supervisor's verdict on a completion waiting for verification (expectedStatus is VERIFYING). */
export type VerifyAction = OnReport & {
  kind: 'verify';
  accept: boolean;
  reason: string | null;
  publicNote: string | null;
  internalNote: string | null;
};

export type ReportAction = StatusAction | DisposeAction | AssignAction | VerifyAction;

/** Several reports, each with the status the officer saw it in, moved or assigned at once. */
export type BulkAction = {
  kind: 'bulk';
  reports: { reportId: string; expectedStatus: ReportStatus; title: string }[];
} & ({ to: null; assignee: string | null; assigneeName: string | null } | { to: ReportStatus; publicNote: string | null; internalNote: string | null; reason: string | null });

const KIND = 'officer.report';
const BULK = 'officer.bulk';

type Problem = { code: string; message: string };

/** The words for a refusal written by the officer app (null: use the shared words of errorText). */
function words(problem: Problem, now: ReportStatus | null): string | null {
  if (problem.code === 'STALE') return t('refused.STALE', { status: now ? statusLabel(now) : '?' });
  const key = `refused.${problem.code}`;
  const text = t(key as Parameters<typeof t>[0]);
  return text === key ? null : text;
}

/** The action's refusal in the officer's words where the app has them; the code stays (STALE, FORBIDDEN...). */
function refused(problem: Problem, now: ReportStatus | null = null): ApiError {
  const text = words(problem, now);
  return text === null ? new ApiError(problem.code, problem.message) : new Refusal(problem.code, text);
}

/** What to show for a refusal the outbox kept: the officer app's own words when it wrote them. */
export function refusalText(error: Problem | null): string {
  if (error && (error.code === 'STALE' || t(`refused.${error.code}` as Parameters<typeof t>[0]) !== `refused.${error.code}`)) {
    return error.message;
  }
  return errorText(error);
}

function check(errors: Problem[], report: { status: ReportStatus } | null): void {
  const first = errors[0];
  if (first) throw refused(first, report?.status ?? null);
}

/** Remembers photo keys on the entry as soon as they are uploaded, so a later retry sends the same ones. */
async function keepKeys(entryId: string, action: StatusAction): Promise<void> {
  const entry = (await outboxAll()).find((candidate) => candidate.id === entryId);
  if (!entry) return;
  entry.payload = action;
  await outboxPut(entry);
}

async function send(payload: unknown, requestId: string): Promise<void> {
  const action = payload as ReportAction;
  if (action.kind === 'status') {
    while (action.photos.length) {
      action.photoKeys.push(await uploadPhoto(action.photos[0]!));
      action.photos.shift();
      await keepKeys(requestId, action);
    }
    const answer = await request(ChangeStatus, {
      input: {
        reportId: action.reportId,
        to: action.to,
        publicNote: action.publicNote,
        internalNote: action.internalNote,
        reason: action.reason,
        duplicateOf: action.duplicateOf,
        afterPhotoKeys: action.photoKeys,
        expectedStatus: action.expectedStatus,
        clientRequestId: requestId,
      },
    });
    check(answer.changeReportStatus.errors, answer.changeReportStatus.report);
  } else if (action.kind === 'dispose') {
    const answer = await request(Dispose, {
      input: {
        reportId: action.reportId,
        toUnit: action.toUnit,
        publicNote: action.publicNote,
        internalNote: action.internalNote,
        expectedStatus: action.expectedStatus,
        clientRequestId: requestId,
      },
    });
    check(answer.disposeReport.errors, answer.disposeReport.report);
  } else if (action.kind === 'verify') {
    const answer = await request(Verify, {
      input: {
        reportId: action.reportId,
        accept: action.accept,
        reason: action.reason,
        publicNote: action.publicNote,
        internalNote: action.internalNote,
        clientRequestId: requestId,
      },
    });
    check(answer.verifyCompletion.errors, answer.verifyCompletion.report);
  } else {
    const answer = await request(Assign, {
      input: {
        reportId: action.reportId,
        assignee: action.assignee,
        expectedStatus: action.expectedStatus,
        clientRequestId: requestId,
      },
    });
    check(answer.assignReport.errors, answer.assignReport.report);
  }
}

export type BulkOutcome = { reportId: string; problem: Problem | null };

/** What each bulk action (by its outbox entry) did to each of its reports, for the sheet that sent it. */
export const bulkOutcomes = signal<Record<string, BulkOutcome[]>>({});

/** The single action a bulk one stands for on one report (what a refusal of that report is shown as). */
function single(action: BulkAction, report: BulkAction['reports'][number]): ReportAction {
  const base = { reportId: report.reportId, expectedStatus: report.expectedStatus };
  if (action.to === null) return { ...base, kind: 'assign', assignee: action.assignee, assigneeName: action.assigneeName };
  return {
    ...base,
    kind: 'status',
    to: action.to,
    publicNote: action.publicNote,
    internalNote: action.internalNote,
    reason: action.reason,
    duplicateOf: null,
    photos: [],
    photoKeys: [],
  };
}

async function sendBulk(payload: unknown, requestId: string): Promise<void> {
  const action = payload as BulkAction;
  const reports = action.reports.map(({ reportId, expectedStatus }) => ({ reportId, expectedStatus }));
  const answer =
    action.to === null
      ? (await request(BulkAssign, { input: { reports, assignee: action.assignee, clientRequestId: requestId } })).bulkAssignReports
      : (
          await request(BulkStatus, {
            input: {
              reports,
              to: action.to,
              publicNote: action.publicNote,
              internalNote: action.internalNote,
              reason: action.reason,
              clientRequestId: requestId,
            },
          })
        ).bulkChangeReportStatus;
  check(answer.errors, null);
  const outcomes: BulkOutcome[] = [];
  for (const result of answer.results) {
    const problem = result.errors[0] ?? null;
    const report = action.reports.find((candidate) => candidate.reportId === result.reportId);
    if (problem && report) {
      // Refused reports stay in view (the outbox list, the report itself) until the officer has seen them.
      const shown = refused(problem, result.report?.status ?? null);
      const alone = single(action, report);
      await outboxPut({
        id: newRequestId(),
        kind: KIND,
        label: describe(alone, report.title),
        payload: alone,
        createdAt: Date.now(),
        attempts: 1,
        state: 'refused',
        error: { code: shown.code, message: shown.message },
      });
    }
    outcomes.push({
      reportId: result.reportId,
      problem: problem ? { code: problem.code, message: refused(problem, result.report?.status ?? null).message } : null,
    });
  }
  bulkOutcomes.set({ ...bulkOutcomes.get(), [requestId]: outcomes });
}

export function registerWork(): void {
  handle(KIND, send);
  handle(BULK, sendBulk);
}

/** Keeps a bulk action on the phone and sends it as soon as possible; resolves with its entry id once kept. */
export function actOnMany(action: BulkAction): Promise<string> {
  const label =
    action.to === null
      ? action.assignee
        ? t('work.bulkAssign', { name: action.assigneeName ?? '', count: action.reports.length })
        : t('work.bulkRelease', { count: action.reports.length })
      : t('work.bulkStatus', { status: t(`target.${action.to}` as Parameters<typeof t>[0]), count: action.reports.length });
  return enqueue(BULK, label, action);
}

/** What the outbox list says about an action. */
export function describe(action: ReportAction, title: string): string {
  const report = title.length > 60 ? `${title.slice(0, 57)}…` : title;
  if (action.kind === 'dispose') return t('work.dispose', { unit: action.toUnitName, report });
  if (action.kind === 'verify') return t(action.accept ? 'work.verifyAccept' : 'work.verifyReturn', { report });
  if (action.kind === 'assign') {
    return action.assignee ? t('work.assign', { name: action.assigneeName ?? '', report }) : t('work.release', { report });
  }
  return t('work.status', { status: t(`target.${action.to}` as Parameters<typeof t>[0]), report });
}

/** Keeps the action on the phone and sends it as soon as possible; resolves once it is kept. */
export function act(action: ReportAction, title: string): Promise<string> {
  return enqueue(KIND, describe(action, title), action);
}

/** The actions on this report that the API has not accepted yet, or has refused. */
export function isFor(payload: unknown, reportId: string): boolean {
  return (payload as Partial<ReportAction> | null)?.reportId === reportId;
}

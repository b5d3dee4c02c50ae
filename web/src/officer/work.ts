// The officer's actions on reports, as outbox entries: each is kept on the phone first and sent when there is
// a connection, in the order taken, with the entry's id as its idempotency key (clientRequestId) and the
// status the officer saw (expectedStatus), so that a replay of an action on a report that changed meanwhile is
// refused (STALE) and shown, never applied blindly.
import { graphql } from '../gql';
import type { ReportStatus } from '../gql/graphql';
import { ApiError, Refusal, request } from '../shared/api';
import { enqueue, handle } from '../shared/outbox';
import { outboxAll, outboxPut } from '../shared/store';
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

export type ReportAction = StatusAction | DisposeAction | AssignAction;

const KIND = 'officer.report';

/** The action's refusal in the officer's words (its code stays for errorText: STALE, FORBIDDEN...). */
function refused(code: string, message: string): ApiError {
  const key = `refused.${code}`;
  const text = t(key as Parameters<typeof t>[0]);
  return text === key ? new ApiError(code, message) : new Refusal(code, text);
}

function check(errors: { code: string; message: string }[]): void {
  const first = errors[0];
  if (first) throw refused(first.code, first.message);
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
      },
    });
    check(answer.changeReportStatus.errors);
  } else if (action.kind === 'dispose') {
    const answer = await request(Dispose, {
      input: {
        reportId: action.reportId,
        toUnit: action.toUnit,
        publicNote: action.publicNote,
        internalNote: action.internalNote,
      },
    });
    check(answer.disposeReport.errors);
  } else {
    const answer = await request(Assign, { input: { reportId: action.reportId, assignee: action.assignee } });
    check(answer.assignReport.errors);
  }
}

export function registerWork(): void {
  handle(KIND, send);
}

/** What the outbox list says about an action. */
export function describe(action: ReportAction, title: string): string {
  const report = title.length > 60 ? `${title.slice(0, 57)}…` : title;
  if (action.kind === 'dispose') return t('work.dispose', { unit: action.toUnitName, report });
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

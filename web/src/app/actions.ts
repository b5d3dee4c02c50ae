// Everything a citizen does that writes goes through the outbox (src/shared/outbox.ts): kept on the phone first,
// sent when there is a connection, retried with the same idempotency key (the entry's id) until the API answers.
// A new report is the biggest of them: its photos (Blobs in IndexedDB) are uploaded one by one, each step saved,
// then createReport claims them with clientRequestId = the entry's id, so a retry after a lost answer gets the
// same report back instead of a second one.
import { graphql } from '../gql';
import { NetworkError, Refusal, request } from '../shared/api';
import { enqueue, handle } from '../shared/outbox';
import { outboxAll, outboxPut } from '../shared/store';
import { type QueuedPhoto, upload } from './photos';
import { refusalText, t } from './strings';

export type NewReportDraft = {
  category: string;
  /** The category's names when it was filed, for the waiting list (offline, without the categories query). */
  categoryNameId: string;
  categoryNameEn: string;
  description: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  anonymous: boolean;
  confidential: boolean;
};

export type QueuedReport = NewReportDraft & {
  photos: QueuedPhoto[];
  /** How many times the storage lost photos createReport asked for (they are uploaded again, a few times). */
  reuploads: number;
};

const CreateReport = graphql(`
  mutation CreateReport($input: CreateReportInput!) {
    createReport(input: $input) {
      report { id status }
      errors { code message field }
    }
  }
`);

const SupportReport = graphql(`
  mutation SupportReport($reportId: ID!, $support: Boolean!, $clientRequestId: String!) {
    supportReport(reportId: $reportId, support: $support, clientRequestId: $clientRequestId) {
      report { id supportCount supportedByMe }
      errors { code message }
    }
  }
`);

const FollowReport = graphql(`
  mutation FollowReport($reportId: ID!, $follow: Boolean!, $clientRequestId: String!) {
    followReport(reportId: $reportId, follow: $follow, clientRequestId: $clientRequestId) {
      report { id followedByMe }
      errors { code message }
    }
  }
`);

const AddComment = graphql(`
  mutation AddComment($reportId: ID!, $body: String!, $clientRequestId: String!) {
    addComment(reportId: $reportId, body: $body, clientRequestId: $clientRequestId) {
      comment { id }
      errors { code message }
    }
  }
`);

const RateReport = graphql(`
  mutation RateReport($reportId: ID!, $rating: Int!, $comment: String, $clientRequestId: String!) {
    rateReport(reportId: $reportId, rating: $rating, comment: $comment, clientRequestId: $clientRequestId) {
      report { id status }
      errors { code message }
    }
  }
`);

const ReopenReport = graphql(`
  mutation ReopenReport($reportId: ID!, $reason: String!, $clientRequestId: String!) {
    reopenReport(reportId: $reportId, reason: $reason, clientRequestId: $clientRequestId) {
      report { id status }
      errors { code message }
    }
  }
`);

/** Throws the first payload error as a refusal in the reader's words (the outbox keeps it as refused). */
function refuse(errors: readonly { code: string; message: string }[]): void {
  const first = errors[0];
  if (first) throw new Refusal(first.code, refusalText(first.code, first.message));
}

/** Storage lost what createReport claims: the photos are uploaded again, at most this many times. */
const MAX_REUPLOADS = 2;
const LOST_PHOTO = new Set(['PHOTO_NOT_FOUND', 'PHOTO_NOT_UPLOADED']);

/** Writes the report's progress (tickets, uploaded keys) into its outbox entry, so a closed app resumes there. */
async function saveProgress(id: string, payload: QueuedReport): Promise<void> {
  const entry = (await outboxAll()).find((candidate) => candidate.id === id);
  if (entry) await outboxPut({ ...entry, payload });
}

async function sendReport(payload: unknown, requestId: string): Promise<void> {
  const report = payload as QueuedReport;
  const save = () => saveProgress(requestId, report);
  const keys: string[] = [];
  for (const photo of report.photos) keys.push(await upload(photo, save));
  const answer = await request(CreateReport, {
    input: {
      clientRequestId: requestId,
      category: report.category,
      description: report.description,
      location: { lat: report.lat, lon: report.lon, accuracyM: report.accuracyM },
      photoKeys: keys,
      anonymous: report.anonymous,
      confidential: report.confidential,
    },
  });
  const errors = answer.createReport.errors;
  if (errors.some((error) => LOST_PHOTO.has(error.code)) && report.reuploads < MAX_REUPLOADS) {
    report.reuploads += 1;
    for (const photo of report.photos) {
      photo.uploadedKey = null;
      photo.ticket = null;
    }
    await save();
    throw new NetworkError('the storage lost the photos: they are uploaded again');
  }
  refuse(errors);
}

type ReportAction = { reportId: string };
type Toggle = ReportAction & { on: boolean };

export function registerHandlers(): void {
  handle('report', sendReport);
  // Each action carries its outbox entry's id as clientRequestId: an answer lost on the way back and the action
  // sent again is done once, and its outcome repeated.
  handle('support', async (payload, clientRequestId) => {
    const { reportId, on } = payload as Toggle;
    refuse((await request(SupportReport, { reportId, support: on, clientRequestId })).supportReport.errors);
  });
  handle('follow', async (payload, clientRequestId) => {
    const { reportId, on } = payload as Toggle;
    refuse((await request(FollowReport, { reportId, follow: on, clientRequestId })).followReport.errors);
  });
  handle('comment', async (payload, clientRequestId) => {
    const { reportId, body } = payload as ReportAction & { body: string };
    refuse((await request(AddComment, { reportId, body, clientRequestId })).addComment.errors);
  });
  handle('rate', async (payload, clientRequestId) => {
    const { reportId, rating, comment } = payload as ReportAction & { rating: number; comment: string | null };
    refuse((await request(RateReport, { reportId, rating, comment, clientRequestId })).rateReport.errors);
  });
  handle('reopen', async (payload, clientRequestId) => {
    const { reportId, reason } = payload as ReportAction & { reason: string };
    refuse((await request(ReopenReport, { reportId, reason, clientRequestId })).reopenReport.errors);
  });
}

export function fileReport(draft: NewReportDraft, photos: Blob[], label: string): Promise<string> {
  const payload: QueuedReport = {
    ...draft,
    photos: photos.map((blob) => ({ blob, ticket: null, uploadedKey: null, refusals: 0 })),
    reuploads: 0,
  };
  return enqueue('report', label, payload);
}

export function support(reportId: string, on: boolean): Promise<string> {
  return enqueue('support', t(on ? 'action.support' : 'action.unsupport'), { reportId, on });
}

export function follow(reportId: string, on: boolean): Promise<string> {
  return enqueue('follow', t(on ? 'action.follow' : 'action.unfollow'), { reportId, on });
}

export function comment(reportId: string, body: string): Promise<string> {
  return enqueue('comment', t('action.comment'), { reportId, body });
}

export function rate(reportId: string, rating: number, text: string | null): Promise<string> {
  return enqueue('rate', t('action.rate', { rating }), { reportId, rating, comment: text });
}

export function reopen(reportId: string, reason: string): Promise<string> {
  return enqueue('reopen', t('action.reopen'), { reportId, reason });
}

/** The report an outbox entry is about, if any (to show it waiting on that report's screen). */
export function entryReportId(payload: unknown): string | null {
  const reportId = (payload as Partial<ReportAction> | null)?.reportId;
  return typeof reportId === 'string' ? reportId : null;
}

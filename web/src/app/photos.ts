// Photos leave the phone small: a camera's 12-megapixel JPEG (4-6 MB) is redrawn on a canvas at most 2048 px on
// its longer side (what the server keeps anyway) and re-encoded as JPEG, about 300-600 kB over EDGE instead of
// megabytes. Re-encoding drops the EXIF block, GPS included; the report's position comes from geolocation.
// Uploads go straight to object storage with a presigned POST from requestPhotoUpload.
import { graphql } from '../gql';
import { NetworkError, Refusal, request } from '../shared/api';
import { refusalText, t } from './strings';

/** The API's limits (CreateReportInput.photoKeys: at most 5; the processed photo's longer side). */
export const MAX_PHOTOS = 5;
export const MAX_SIDE = 2048;
const QUALITY = 0.82;

/** Loads a picture the camera or the gallery gave, upright (EXIF orientation applied), at most MAX_SIDE px. */
export async function shrink(file: Blob): Promise<Blob> {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas');
    context.drawImage(bitmap, 0, 0, width, height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
    if (!blob) throw new Error('the canvas gave no JPEG');
    return blob;
  } finally {
    bitmap.close();
  }
}

const RequestUpload = graphql(`
  mutation RequestPhotoUpload($contentType: String!, $byteSize: Int!) {
    requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) {
      upload { key url fields expiresAt }
      errors { code message }
    }
  }
`);

export type Ticket = { key: string; url: string; fields: Record<string, string>; expiresAt: string };

/** One photo of a report waiting in the outbox: the picture, and how far its upload got. */
export type QueuedPhoto = {
  blob: Blob;
  /** The upload ticket last obtained, kept so a retry does not ask for another while it is valid. */
  ticket: Ticket | null;
  /** Set once the storage accepted the file: the key createReport claims. */
  uploadedKey: string | null;
  /** How many times the storage refused a ticket of this photo; past a few, the photo is given up. */
  refusals: number;
};

const MAX_REFUSALS = 3;

/** A ticket must leave time for the upload itself to start before it expires. */
const TICKET_MARGIN_MS = 60_000;

function usable(ticket: Ticket | null, now: number): ticket is Ticket {
  return ticket !== null && Date.parse(ticket.expiresAt) - TICKET_MARGIN_MS > now;
}

async function requestTicket(blob: Blob): Promise<Ticket> {
  const answer = await request(RequestUpload, { contentType: 'image/jpeg', byteSize: blob.size });
  const refused = answer.requestPhotoUpload.errors[0];
  if (refused) throw new Refusal(refused.code, refusalText(refused.code, refused.message));
  const upload = answer.requestPhotoUpload.upload;
  if (!upload) throw new NetworkError('an upload without a ticket');
  return { key: upload.key, url: upload.url, fields: upload.fields as Record<string, string>, expiresAt: upload.expiresAt };
}

/**
 * Uploads one photo if it is not up yet; `save` is called after each step that must survive a closed app (a new
 * ticket, the upload done), so that a retry reuses the ticket and never uploads a file twice under two keys.
 * A ticket that expired, or that the storage refused, is replaced by a new one.
 */
export async function upload(photo: QueuedPhoto, save: () => Promise<void>): Promise<string> {
  if (photo.uploadedKey) return photo.uploadedKey;
  if (!usable(photo.ticket, Date.now())) {
    photo.ticket = await requestTicket(photo.blob);
    await save();
  }
  const ticket = photo.ticket!;
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append('file', photo.blob, 'photo.jpg');
  let response: Response;
  try {
    response = await fetch(ticket.url, { method: 'POST', body: form, credentials: 'omit' });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  if (response.status >= 500) throw new NetworkError(`storage answered ${response.status}`);
  if (!response.ok) {
    // Refused by the storage: the ticket's policy expired (the phone's clock, a long wait) or does not match.
    // The next attempt asks for a new ticket; the attempt itself counts as failed, to be retried.
    photo.ticket = null;
    photo.refusals += 1;
    await save();
    if (photo.refusals >= MAX_REFUSALS) throw new Refusal('PHOTO_UPLOAD', t('error.PHOTO_UPLOAD'));
    throw new NetworkError(`the storage refused the upload (${response.status})`);
  }
  photo.uploadedKey = ticket.key;
  photo.ticket = null;
  await save();
  return ticket.key;
}

// After-photos: made smaller on the phone before they travel (a phone camera's 12 MP JPEG is 4-6 MB; at most
// 2048 px it is a few hundred KB), then uploaded straight to object storage with a presigned POST.
import { graphql } from '../gql';
import { ApiError, NetworkError, request } from '../shared/api';

export const MAX_SIDE = 2048;
const QUALITY = 0.85;

/** The size a photo is drawn at: its longest side at most `max`, never enlarged. */
export function fitWithin(width: number, height: number, max: number = MAX_SIDE): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * A JPEG of at most MAX_SIDE pixels, turned upright as the camera meant it. Drawing through a canvas also drops
 * every metadata block (the officer's GPS position, the phone's model).
 */
export async function shrinkPhoto(file: Blob): Promise<Blob> {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const size = fitWithin(bitmap.width, bitmap.height);
    const canvas = document.createElement('canvas');
    canvas.width = size.width;
    canvas.height = size.height;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no canvas');
    context.drawImage(bitmap, 0, 0, size.width, size.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the photo could not be encoded'))), 'image/jpeg', QUALITY),
    );
  } finally {
    bitmap.close();
  }
}

const RequestUpload = graphql(`
  mutation OfficerRequestPhotoUpload($contentType: String!, $byteSize: Int!) {
    requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) {
      upload { key url fields maxBytes }
      errors { code message }
    }
  }
`);

/** Uploads one photo; returns its key for the mutation. ApiError when refused, NetworkError to try again. */
export async function uploadPhoto(photo: Blob): Promise<string> {
  const answer = await request(RequestUpload, { contentType: 'image/jpeg', byteSize: photo.size });
  const refused = answer.requestPhotoUpload.errors[0];
  if (refused) throw new ApiError(refused.code, refused.message);
  const upload = answer.requestPhotoUpload.upload;
  if (!upload) throw new NetworkError('no upload ticket');
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields as Record<string, string>)) form.append(name, value);
  form.append('file', photo, 'after.jpg');
  let response: Response;
  try {
    response = await fetch(upload.url, { method: 'POST', body: form, credentials: 'omit' });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  if (!response.ok) throw new NetworkError(`upload: HTTP ${response.status}`);
  return upload.key;
}

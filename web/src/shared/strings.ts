// Words both apps use: statuses, the connection, the outbox, common errors.
import { NetworkError, Refusal } from './api';
import { translator } from './i18n';

const id = {
  'app.language': 'Bahasa',
  'app.offline': 'Luring: perubahan disimpan di ponsel dan dikirim saat tersambung lagi',
  'app.online': 'Tersambung',
  'app.savedAt': 'Data tersimpan di ponsel, {time}',
  'app.retry': 'Coba lagi',
  'app.loading': 'Memuat…',
  'app.back': 'Kembali',
  'app.logOut': 'Keluar',
  'app.close': 'Tutup',
  'app.networkError': 'Tidak ada sambungan. Coba lagi nanti.',
  'outbox.title': 'Menunggu dikirim',
  'outbox.pending': 'Menunggu sambungan',
  'outbox.refused': 'Ditolak',
  'outbox.dismiss': 'Hapus dari daftar',
  'outbox.sendNow': 'Kirim sekarang',
  'status.WAITING': 'Menunggu',
  'status.COORDINATION': 'Koordinasi',
  'status.DISPOSITION': 'Disposisi',
  'status.IN_PROGRESS': 'Proses',
  'status.VERIFYING': 'Menunggu verifikasi',
  'status.COMPLETED': 'Selesai',
  'status.REJECTED': 'Ditolak',
  'status.DUPLICATE': 'Duplikat',
  'status.REOPENED': 'Dibuka kembali',
  'error.UNAUTHENTICATED': 'Sesi berakhir. Silakan masuk lagi.',
  'error.FORBIDDEN': 'Anda tidak berwenang untuk tindakan ini.',
  'error.NOT_FOUND': 'Tidak ditemukan.',
  'error.RATE_LIMITED': 'Terlalu banyak percobaan. Tunggu sebentar.',
  'error.STALE': 'Laporan ini sudah berubah sejak Anda melihatnya. Periksa lagi sebelum bertindak.',
  'error.CONFLICT': 'Tindakan ini sudah dikirim dengan isi lain.',
  'error.other': 'Terjadi kesalahan: {message}',
};

const en: typeof id = {
  'app.language': 'Language',
  'app.offline': 'Offline: changes are kept on the phone and sent when you are back online',
  'app.online': 'Online',
  'app.savedAt': 'Data kept on the phone, {time}',
  'app.retry': 'Try again',
  'app.loading': 'Loading…',
  'app.back': 'Back',
  'app.logOut': 'Log out',
  'app.close': 'Close',
  'app.networkError': 'No connection. Try again later.',
  'outbox.title': 'Waiting to be sent',
  'outbox.pending': 'Waiting for a connection',
  'outbox.refused': 'Refused',
  'outbox.dismiss': 'Remove from the list',
  'outbox.sendNow': 'Send now',
  'status.WAITING': 'Waiting',
  'status.COORDINATION': 'Coordination',
  'status.DISPOSITION': 'Disposition',
  'status.IN_PROGRESS': 'In progress',
  'status.VERIFYING': 'Waiting for verification',
  'status.COMPLETED': 'Completed',
  'status.REJECTED': 'Rejected',
  'status.DUPLICATE': 'Duplicate',
  'status.REOPENED': 'Reopened',
  'error.UNAUTHENTICATED': 'Your session ended. Please log in again.',
  'error.FORBIDDEN': 'You may not do this.',
  'error.NOT_FOUND': 'Not found.',
  'error.RATE_LIMITED': 'Too many attempts. Wait a moment.',
  'error.STALE': 'This report changed since you saw it. Check it again before you act.',
  'error.CONFLICT': 'This action was already sent with other content.',
  'error.other': 'Something went wrong: {message}',
};

export type CommonKey = keyof typeof id;
export const tc = translator<CommonKey>({ id, en });

/** The words for an error the API gave (its code), or for a failed connection. */
export function errorText(error: unknown): string {
  if (error instanceof Refusal) return error.message;
  const code = (error as { code?: string } | null)?.code;
  if (code && `error.${code}` in id) return tc(`error.${code}` as CommonKey);
  if (error instanceof NetworkError) return tc('app.networkError');
  const message = (error as { message?: unknown } | null)?.message;
  return tc('error.other', { message: typeof message === 'string' ? message : String(error) });
}

export function statusLabel(status: string): string {
  const key = `status.${status}`;
  return key in id ? tc(key as CommonKey) : status;
}

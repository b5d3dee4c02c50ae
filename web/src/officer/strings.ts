// The officer app's words (CROP). Indonesian defines the keys; English must have each of them.
import { translator } from '../shared/i18n';

const id = {
  'title': 'CROP Petugas',
  'login.title': 'Masuk sebagai petugas',
  'login.login': 'E-mail atau nomor HP',
  'login.password': 'Kata sandi',
  'login.submit': 'Masuk',
  'login.INVALID_CREDENTIALS': 'Login atau kata sandi salah.',
  'login.ACCOUNT_CLOSED': 'Akun ini sudah ditutup.',
  'login.NOT_FOUND': 'Login gagal.',
  'login.notOfficer': 'Aplikasi ini untuk petugas. Warga memakai aplikasi warga di /app.',
  'queue.title': 'Antrian kerja',
  'queue.empty': 'Tidak ada laporan di antrian.',
  'queue.due': 'Batas waktu {time}',
  'queue.overdue': 'Terlambat',
};

const en: typeof id = {
  'title': 'CROP Officer',
  'login.title': 'Log in as an officer',
  'login.login': 'E-mail or phone number',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.INVALID_CREDENTIALS': 'Wrong login or password.',
  'login.ACCOUNT_CLOSED': 'This account was closed.',
  'login.NOT_FOUND': 'Could not log in.',
  'login.notOfficer': 'This app is for officers. Citizens use the citizen app at /app.',
  'queue.title': 'Work queue',
  'queue.empty': 'No reports in the queue.',
  'queue.due': 'Due {time}',
  'queue.overdue': 'Overdue',
};

export type OfficerKey = keyof typeof id;
export const t = translator<OfficerKey>({ id, en });

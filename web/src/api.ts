/**
 * The app's only way to the server: JSON to /api and DICOM JSON from /dicom-web, same origin, with the session
 * cookie (sent by the browser) and the session's CSRF token on every state change. An answer that says the
 * session is gone sends the browser to the sign-in page, coming back here after.
 */
import { Tag, tagHex, type TagKeyword } from '../../src/core/dicom/dictionary.js';
import type { JsonDataset } from './lib/dicom-json.js';
import { returnPath } from './lib/idle.js';

let csrf = '';

export function setCsrf(token: string | undefined): void {
  csrf = token ?? '';
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let leaving = false;

/**
 * To the sign-in page, to come back to this page (its URL kept) once signed in again. Once: the idle timer
 * and a request refused at the same moment would otherwise start the navigation twice, the second aborting
 * the first.
 */
export function toSignIn(): void {
  if (leaving) return;
  leaving = true;
  const back = returnPath(location.pathname, location.search);
  location.assign(`/login?next=${encodeURIComponent(back)}`);
}

/**
 * Signs out and goes to the sign-in page, with nothing to come back to: the person chose to leave. Requests
 * still under way are refused once the session has ended; they start no navigation of their own (one to
 * the sign-in page with this page to come back to would replace this one).
 */
export async function signOutAndLeave(): Promise<void> {
  leaving = true;
  await signOut().catch(() => undefined);
  location.assign('/login');
}

async function request(method: string, path: string, body?: unknown, accept = 'application/json') {
  const headers: Record<string, string> = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    toSignIn();
    throw new ApiError(401, 'LNT_AUTH_REQUIRED', 'signed out');
  }
  if (!res.ok) {
    let code = 'LNT_HTTP';
    let message = res.statusText;
    try {
      const j = (await res.json()) as { code?: string; message?: string };
      code = j.code ?? code;
      message = j.message ?? message;
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/** A JSON API call. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A QIDO-RS search or a metadata read: DICOM JSON data sets ([] for 204 No Content). */
export async function dicomJson(path: string, query?: URLSearchParams): Promise<JsonDataset[]> {
  const res = await request('GET', query ? `${path}?${query}` : path, undefined, 'application/dicom+json');
  if (res.status === 204) return [];
  return (await res.json()) as JsonDataset[];
}

/** STOW-RS of one Part 10 object (a measurement report, a key object selection) into the archive. */
export async function stow(part10: ArrayBuffer, studyUid?: string): Promise<void> {
  const boundary = `lantern-${crypto.randomUUID()}`;
  const head = new TextEncoder().encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const body = new Blob([head, part10, tail]);
  const res = await fetch(`/dicom-web/studies${studyUid ? `/${studyUid}` : ''}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      Accept: 'application/dicom+json',
      'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      'X-CSRF-Token': csrf,
    },
    body,
  });
  if (res.status === 401) toSignIn();
  // PS3.18 10.5.3: a failed instance is listed in the Failed SOP Sequence with its reason, and one kept
  // aside (quarantined) carries a Warning Reason, even when the status alone looks like success.
  let failure: string | undefined;
  try {
    const answer = JSON.parse(await res.text()) as JsonDataset;
    const reason = (seq: TagKeyword, why: TagKeyword) => {
      const item = (answer[tagHex(Tag[seq])]?.Value as JsonDataset[] | undefined)?.find(
        (i) => i[tagHex(Tag[why])],
      );
      const code = item?.[tagHex(Tag[why])]?.Value?.[0];
      return code === undefined ? undefined : `${Number(code).toString(16).toUpperCase()}H`;
    };
    const failed = reason('FailedSOPSequence', 'FailureReason');
    const warned = reason('ReferencedSOPSequence', 'WarningReason');
    if (failed) failure = `refused (failure reason ${failed})`;
    else if (warned) failure = `kept aside for review (warning reason ${warned})`;
  } catch {
    // No DICOM JSON answer: the status says it.
  }
  if (!res.ok || failure)
    throw new ApiError(res.status, 'LNT_STOW', `the archive did not store it: ${failure ?? res.status}`);
}

/** Who is signed in, as /api/auth/me says. */
export interface Me {
  readonly login: string;
  readonly displayName?: string;
  readonly roles: readonly string[];
  readonly permissions?: readonly string[];
  readonly via: string;
  readonly csrfToken?: string;
  readonly idleMinutes?: number;
  readonly sessionExpiresAt?: string;
  readonly mustChangePassword?: boolean;
}

export async function signOut(): Promise<void> {
  try {
    await api('POST', '/api/auth/logout');
  } finally {
    setCsrf('');
  }
}

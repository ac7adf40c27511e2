/** The idle timeout as the web app shows and enforces it: time left since the person last did something. */

/** Milliseconds left before an idle session ends (never below 0). */
export function idleRemaining(lastActivity: number, idleMinutes: number, now: number): number {
  return Math.max(0, lastActivity + idleMinutes * 60_000 - now);
}

/** "4:05", or "1:02:03" for an hour or more. */
export function formatRemaining(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The path to come back to after signing in again (only a path on this origin, never the sign-in page). */
export function returnPath(pathname: string, search: string): string {
  const p = `${pathname}${search}`;
  return p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/login') ? p : '/';
}

import { useCallback, useEffect, useRef, useState } from 'react';
import { type Me, signOut, signOutAndLeave, toSignIn } from './api.js';
import { formatRemaining, idleRemaining } from './lib/idle.js';
import { navigate, useRoute } from './router.js';
import { StudyList } from './studies/StudyList.js';
import { Viewer } from './viewer/Viewer.js';
import { Admin, allowedSections } from './admin/Admin.js';

/** What counts as the person doing something (not the app's own requests). */
const ACTIVITY = ['pointerdown', 'keydown', 'wheel', 'pointermove', 'touchstart'] as const;

/**
 * The idle timeout, shown and enforced: after `idleMinutes` without input the session is ended and the
 * browser goes to the sign-in page, which brings it back to the same page (the same study) afterwards.
 */
function IdleClock({ idleMinutes }: { idleMinutes: number }) {
  const last = useRef(Date.now());
  const [left, setLeft] = useState(idleMinutes * 60_000);
  const ended = useRef(false);
  useEffect(() => {
    const touch = () => {
      last.current = Date.now();
    };
    for (const e of ACTIVITY) addEventListener(e, touch, { passive: true, capture: true });
    const timer = setInterval(() => {
      const ms = idleRemaining(last.current, idleMinutes, Date.now());
      setLeft(ms);
      if (ms === 0 && !ended.current) {
        ended.current = true;
        void signOut()
          .catch(() => undefined)
          .finally(toSignIn);
      }
    }, 1000);
    return () => {
      for (const e of ACTIVITY) removeEventListener(e, touch, { capture: true });
      clearInterval(timer);
    };
  }, [idleMinutes]);
  const warn = left < 60_000;
  return (
    <span className={warn ? 'idle warn' : 'idle'} title="The session ends after this much time without input">
      Idle sign-out in <span data-testid="idle-left">{formatRemaining(left)}</span>
    </span>
  );
}

export function App({ me }: { me: Me }) {
  const route = useRoute();
  const out = useCallback(() => void signOutAndLeave(), []);
  const link = (path: string) => (e: React.MouseEvent) => {
    e.preventDefault();
    navigate(path);
  };
  return (
    <div className="app">
      <header className="top">
        <a href="/" className="brand" onClick={link('/')}>
          Lantern
        </a>
        <nav aria-label="Main">
          <a href="/" onClick={link('/')} aria-current={route.page === 'studies' ? 'page' : undefined}>
            Studies
          </a>
          {allowedSections(me).length > 0 && (
            <a
              href="/admin"
              onClick={link('/admin')}
              aria-current={route.page === 'admin' ? 'page' : undefined}
            >
              Administration
            </a>
          )}
        </nav>
        <div className="who">
          {me.idleMinutes ? <IdleClock idleMinutes={me.idleMinutes} /> : null}
          <span>
            Signed in as <strong data-testid="who">{me.displayName || me.login}</strong>{' '}
            <span className="roles">({me.roles.join(', ')})</span>
          </span>
          <button type="button" onClick={out} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <main className="page">
        {route.page === 'studies' && <StudyList />}
        {route.page === 'viewer' && <Viewer studyUid={route.studyUid} author={me.displayName || me.login} />}
        {route.page === 'admin' && <Admin section={route.section} me={me} />}
      </main>
    </div>
  );
}

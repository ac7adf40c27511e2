import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { api, type Me, setCsrf, toSignIn } from './api.js';
import { App } from './App.js';
import './styles.css';

async function start(): Promise<void> {
  let me: Me;
  try {
    me = await api<Me>('GET', '/api/auth/me');
  } catch {
    // api() has already sent the browser to the sign-in page when the session is gone.
    return;
  }
  if (me.mustChangePassword) {
    toSignIn();
    return;
  }
  setCsrf(me.csrfToken);
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App me={me} />
    </StrictMode>,
  );
}

void start();

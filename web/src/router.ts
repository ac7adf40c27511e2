/** The app's pages by path (history API, no reloads): the study list, the viewer of a study, administration. */
import { useEffect, useState } from 'react';

export type Route =
  | { readonly page: 'studies' }
  | { readonly page: 'viewer'; readonly studyUid: string }
  | { readonly page: 'admin'; readonly section: string };

export function parseRoute(pathname: string): Route {
  const viewer = /^\/viewer\/([0-9.]{1,64})\/?$/.exec(pathname);
  if (viewer) return { page: 'viewer', studyUid: viewer[1] };
  const admin = /^\/admin(?:\/([a-z-]{1,32}))?\/?$/.exec(pathname);
  if (admin) return { page: 'admin', section: admin[1] ?? '' };
  return { page: 'studies' };
}

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return route;
}

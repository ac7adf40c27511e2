/** The app's pages by path (history API, no reloads): the study list and the viewer of a study. */
import { useEffect, useState } from 'react';

export type Route = { readonly page: 'studies' } | { readonly page: 'viewer'; readonly studyUid: string };

export function parseRoute(pathname: string): Route {
  const viewer = /^\/viewer\/([0-9.]{1,64})\/?$/.exec(pathname);
  if (viewer) return { page: 'viewer', studyUid: viewer[1] };
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

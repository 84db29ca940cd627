// Hash routes, so every page has a shareable URL that the static file server
// answers with index.html, plus the share link /p/{id} (the server answers it
// with index.html and the poll's link-preview tags), which shows the poll
// until a hash route is followed:
//   #/                   home: recent polls and the create form
//   #/new                home, focused on the create form
//   #/polls/{id}         the poll: vote, then results
//   #/polls/{id}/live    the live results dashboard
//   #/polls/{id}/present the presenter view: big-screen live results
//   #/polls/{id}/manage  close or delete (the creator's browser)
//   /p/{id}              the poll, as shared
// Hashes that do not start with "#/" (in-page anchors) are not routes.

const ROUTES = [
  [/^\/?$/, () => ({ page: 'home' })],
  [/^\/new\/?$/, () => ({ page: 'home', focusCreate: true })],
  [/^\/polls\/([^/]+)\/?$/, (m) => ({ page: 'poll', id: m[1] })],
  [/^\/polls\/([^/]+)\/live\/?$/, (m) => ({ page: 'live', id: m[1] })],
  [/^\/polls\/([^/]+)\/manage\/?$/, (m) => ({ page: 'manage', id: m[1] })],
  [/^\/polls\/([^/]+)\/present\/?$/, (m) => ({ page: 'present', id: m[1] })],
];

let pendingFlash = null;

/** The route of a hash such as "#/polls/abc". */
export function parse(hash) {
  const path = hash.replace(/^#/, '') || '/';
  for (const [pattern, build] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      const route = build(match);
      if (route.id !== undefined) {
        try {
          route.id = decodeURIComponent(route.id);
        } catch {
          return { page: 'missing' };
        }
      }
      return route;
    }
  }
  return { page: 'missing' };
}

/** The hash of a page. */
export const paths = {
  home: () => '#/',
  poll: (id) => `#/polls/${encodeURIComponent(id)}`,
  live: (id) => `#/polls/${encodeURIComponent(id)}/live`,
  manage: (id) => `#/polls/${encodeURIComponent(id)}/manage`,
  present: (id) => `#/polls/${encodeURIComponent(id)}/present`,
};

/** The route of a path such as "/p/abc" (the share link), or null. */
export function parsePath(pathname) {
  const match = /^\/p\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return { page: 'poll', id: decodeURIComponent(match[1]) };
  } catch {
    return { page: 'missing' };
  }
}

/** A poll's share link, `/p/{id}` on this origin: link previews show its
 * question, and it opens the poll. */
export function shareUrl(id) {
  return `${window.location.origin}/p/${encodeURIComponent(id)}`;
}

/** Goes to `hash`, handing `flash` (a message) to the next page. */
export function navigate(hash, flash = null) {
  pendingFlash = flash;
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

/** Calls `render(route, {flash, initial})` now and on every route change;
 * returns a function that renders the current route again (the language
 * changed), as on first load. */
export function startRouter(render) {
  let current = null;
  const run = (initial) => {
    const hash = window.location.hash;
    if (hash && !hash.startsWith('#/') && current !== null) return; // an anchor
    const flash = pendingFlash;
    pendingFlash = null;
    current = hash.startsWith('#/')
      ? parse(hash)
      : parsePath(window.location.pathname) || parse('#/');
    render(current, { flash, initial });
  };
  window.addEventListener('hashchange', () => run(false));
  run(true);
  return () => render(current, { flash: null, initial: true });
}

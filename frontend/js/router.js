// Hash routes, so every page has a shareable URL that the static file server
// answers with index.html:
//   #/                   home: recent polls and the create form
//   #/new                home, focused on the create form
//   #/polls/{id}         the poll: vote, then results
//   #/polls/{id}/live    the live results dashboard
//   #/polls/{id}/manage  close or delete (the creator's browser)
// Hashes that do not start with "#/" (in-page anchors) are not routes.

const ROUTES = [
  [/^\/?$/, () => ({ page: 'home' })],
  [/^\/new\/?$/, () => ({ page: 'home', focusCreate: true })],
  [/^\/polls\/([^/]+)\/?$/, (m) => ({ page: 'poll', id: m[1] })],
  [/^\/polls\/([^/]+)\/live\/?$/, (m) => ({ page: 'live', id: m[1] })],
  [/^\/polls\/([^/]+)\/manage\/?$/, (m) => ({ page: 'manage', id: m[1] })],
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
};

/** An absolute, shareable URL of a page hash. */
export function absoluteUrl(hash) {
  const { origin, pathname } = window.location;
  return `${origin}${pathname}${hash}`;
}

/** Goes to `hash`, handing `flash` (a message) to the next page. */
export function navigate(hash, flash = null) {
  pendingFlash = flash;
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

/** Calls `render(route, {flash, initial})` now and on every route change. */
export function startRouter(render) {
  let current = null;
  const run = (initial) => {
    const hash = window.location.hash;
    if (hash && !hash.startsWith('#/') && current !== null) return; // an anchor
    const flash = pendingFlash;
    pendingFlash = null;
    current = parse(hash.startsWith('#/') ? hash : '#/');
    render(current, { flash, initial });
  };
  window.addEventListener('hashchange', () => run(false));
  run(true);
}

// Live results on a page: a ResultsView and a ConnectionBadge driven by a
// LiveResults feed (socket.js). Used by the poll page and the dashboard.

import { t } from './i18n.js';
import { LiveResults } from './socket.js';
import { ConnectionBadge, ResultsView, h } from './view.js';

/** Mounts live results for `poll`; `initial` results may be given (from a
 * vote's answer), and the manage `token` on the owner's pages. Returns
 * `{element, stop, recheck, view}`: `recheck()` right after a vote shows
 * counts the poll's visibility hid until then; `onReveal()` is called when
 * hidden counts appear (the poll may have closed meanwhile). */
export function liveResults(
  poll,
  {
    initial = null,
    mine = null,
    title = t('results.title'),
    headingLevel = 'h2',
    token = null,
    voteLink = null,
    onReveal = null,
  } = {},
) {
  const view = new ResultsView(poll, { mine, title, headingLevel, voteLink, onReveal });
  const badge = new ConnectionBadge();
  const feed = new LiveResults(
    poll.id,
    {
      onResults: (results) => view.show(results),
      onState: (state) => badge.set(state),
      onHidden: (visibility) => view.hide(visibility || poll.visibility),
    },
    {},
    token,
  );
  feed.start(initial);
  view.element.insertBefore(badge.element, view.live);
  return {
    element: h('div', { class: 'live-results' }, view.element),
    stop: () => {
      feed.stop();
      view.stop();
    },
    recheck: () => feed.recheck(),
    view,
  };
}

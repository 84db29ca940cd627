// Live results on a page: a ResultsView and a ConnectionBadge driven by a
// LiveResults feed (socket.js). Used by the poll page and the dashboard.

import { LiveResults } from './socket.js';
import { ConnectionBadge, ResultsView, h } from './view.js';

/** Mounts live results for `poll`; `initial` results may be given (from a
 * vote's answer). Returns `{element, stop}`. */
export function liveResults(poll, { initial = null, mine = null, title = 'Results', headingLevel = 'h2' } = {}) {
  const view = new ResultsView(poll, { mine, title, headingLevel });
  const badge = new ConnectionBadge();
  const feed = new LiveResults(poll.id, {
    onResults: (results) => view.show(results),
    onState: (state) => badge.set(state),
  });
  feed.start(initial);
  view.element.insertBefore(badge.element, view.live);
  return { element: h('div', { class: 'live-results' }, view.element), stop: () => feed.stop(), view };
}

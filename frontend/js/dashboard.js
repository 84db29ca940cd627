// The live results dashboard (#/polls/{id}/live): big bars and percentages
// over the WebSocket feed, with its connection state in view.

import { liveResults } from './live.js';
import { loadPoll } from './missing.js';
import { paths, shareUrl } from './router.js';
import { manageToken, votedBallot } from './storage.js';
import { mineIds } from './tally.js';
import { h, pageTitle, pollFacts, shareBox } from './view.js';

/** Renders the dashboard into `root`; returns its cleanup. */
export function renderDashboard(root, id) {
  let live = null;
  let left = false;
  const body = h('div', { class: 'dashboard' }, h('p', { class: 'muted', text: 'Loading poll…' }));
  root.append(body);

  const show = (poll) => {
    document.title = `Live: ${poll.question} · Polling`;
    const ballot = votedBallot(poll.id);
    // The owner sees the counts whatever the visibility; a voter who has not
    // voted may be told to vote first.
    live = liveResults(poll, {
      mine: mineIds(poll, ballot),
      title: 'Live results',
      token: manageToken(poll.id),
      voteLink: !ballot && poll.status === 'open' ? paths.poll(poll.id) : null,
    });
    body.replaceChildren(
      pageTitle(poll.question),
      pollFacts(poll),
      h('div', { class: 'panel dashboard-panel' }, live.element),
      h(
        'aside',
        { class: 'panel share-panel', 'aria-label': 'Share' },
        shareBox(shareUrl(poll.id)),
        h(
          'p',
          { class: 'page-links' },
          h('a', { href: paths.poll(poll.id), text: ballot || poll.status === 'closed' ? 'Poll page' : 'Vote in this poll' }),
          ' · ',
          h('a', { href: paths.present(poll.id), text: 'Present' }),
        ),
      ),
    );
  };
  loadPoll(body, id, { hasLeft: () => left, show });
  return () => {
    left = true;
    if (live) live.stop();
  };
}

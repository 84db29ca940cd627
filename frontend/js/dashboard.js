// The live results dashboard (#/polls/{id}/live): big bars and percentages
// over the WebSocket feed, with its connection state in view.

import { t } from './i18n.js';
import { liveResults } from './live.js';
import { loadPoll } from './missing.js';
import { paths, shareUrl } from './router.js';
import { manageToken, votedBallot } from './storage.js';
import { mineIds } from './tally.js';
import { docTitle, h, pageTitle, pollFacts, shareBox } from './view.js';

/** Renders the dashboard into `root`; returns its cleanup. */
export function renderDashboard(root, id) {
  let live = null;
  let left = false;
  const body = h('div', { class: 'dashboard' }, h('p', { class: 'muted', text: t('common.loadingPoll') }));
  root.append(body);

  const show = (poll) => {
    document.title = docTitle(t('dashboard.docTitle', { question: poll.question }));
    const ballot = votedBallot(poll.id);
    // The owner sees the counts whatever the visibility; a voter who has not
    // voted may be told to vote first.
    live = liveResults(poll, {
      mine: mineIds(poll, ballot),
      title: t('dashboard.title'),
      token: manageToken(poll.id),
      voteLink: !ballot && poll.status === 'open' ? paths.poll(poll.id) : null,
    });
    body.replaceChildren(
      pageTitle(poll.question),
      pollFacts(poll),
      h('div', { class: 'panel dashboard-panel' }, live.element),
      h(
        'aside',
        { class: 'panel share-panel', 'aria-label': t('share.title') },
        shareBox(shareUrl(poll.id)),
        h(
          'p',
          { class: 'page-links' },
          h('a', { href: paths.poll(poll.id), text: ballot || poll.status === 'closed' ? t('links.pollPage') : t('links.vote') }),
          ' · ',
          h('a', { href: paths.present(poll.id), text: t('links.present') }),
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

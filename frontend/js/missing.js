// Pages for what cannot be shown: an unknown route, a poll that does not
// exist, a server that does not answer.

import { describeError, getPoll } from './api.js';
import { paths } from './router.js';
import { h, notice, pageTitle } from './view.js';

/** The page for a hash that names no page. */
export function renderMissing(root) {
  document.title = 'Page not found · Polling';
  root.append(
    pageTitle('Page not found'),
    notice('error', 'There is no page at this address.'),
    h('p', {}, h('a', { href: paths.home(), text: 'Go to the polls' })),
  );
  return () => {};
}

/** Replaces `body` with why a poll could not be loaded, and a retry button
 * when retrying may help. */
export function loadFailure(body, error, retry) {
  if (error && error.code === 'not_found') {
    document.title = 'Poll not found · Polling';
    body.replaceChildren(
      pageTitle('Poll not found'),
      notice('error', describeError(error)),
      h('p', {}, h('a', { href: paths.home(), text: 'See recent polls' })),
    );
    return;
  }
  document.title = 'Poll unavailable · Polling';
  const button = h('button', { type: 'button', class: 'secondary', text: 'Try again' });
  button.addEventListener('click', () => {
    body.replaceChildren(h('p', { class: 'muted', text: 'Loading poll…' }));
    retry();
  });
  body.replaceChildren(pageTitle('Poll unavailable'), notice('error', describeError(error)), h('p', {}, button));
}

/** Loads poll `id` and hands it to `show`; when it cannot be loaded, shows
 * why in `body` (with a retry when that may help) and tells `failed`.
 * Does nothing more once `hasLeft()` says the page was left. */
export function loadPoll(body, id, { hasLeft, show, failed = () => {} }) {
  const load = async () => {
    let poll;
    try {
      poll = await getPoll(id);
    } catch (error) {
      if (hasLeft()) return;
      failed(error);
      loadFailure(body, error, load);
      return;
    }
    if (!hasLeft()) show(poll);
  };
  load();
}

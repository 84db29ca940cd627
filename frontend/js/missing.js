// Pages for what cannot be shown: an unknown route, a poll that does not
// exist, a server that does not answer.

import { describeError, getPoll } from './api.js';
import { t } from './i18n.js';
import { paths } from './router.js';
import { docTitle, h, notice, pageTitle } from './view.js';

/** The page for a hash that names no page. */
export function renderMissing(root) {
  document.title = docTitle(t('missing.title'));
  root.append(
    pageTitle(t('missing.title')),
    notice('error', t('missing.text')),
    h('p', {}, h('a', { href: paths.home(), text: t('missing.goToPolls') })),
  );
  return () => {};
}

/** Replaces `body` with why a poll could not be loaded, and a retry button
 * when retrying may help. */
export function loadFailure(body, error, retry) {
  if (error && error.code === 'not_found') {
    document.title = docTitle(t('missing.pollNotFound'));
    body.replaceChildren(
      pageTitle(t('missing.pollNotFound')),
      notice('error', describeError(error)),
      h('p', {}, h('a', { href: paths.home(), text: t('missing.seeRecent') })),
    );
    return;
  }
  document.title = docTitle(t('missing.pollUnavailable'));
  const button = h('button', { type: 'button', class: 'secondary', text: t('common.tryAgain') });
  button.addEventListener('click', () => {
    body.replaceChildren(h('p', { class: 'muted', text: t('common.loadingPoll') }));
    retry();
  });
  body.replaceChildren(pageTitle(t('missing.pollUnavailable')), notice('error', describeError(error)), h('p', {}, button));
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

// The presenter view (#/polls/{id}/present): a poll's live results for a big
// screen, with the question in large type, the QR code and short link to
// vote, and, in the creator's browser, "Close poll". "f" toggles full
// screen, Escape leaves it.

import { closePoll, describeError, qrCodeUrl } from './api.js';
import { t } from './i18n.js';
import { liveResults } from './live.js';
import { loadPoll } from './missing.js';
import { paths, shareUrl } from './router.js';
import { manageToken } from './storage.js';
import { docTitle, h, notice, pageTitle } from './view.js';

/** Renders the presenter view into `root`; returns its cleanup. */
export function renderPresent(root, id) {
  let live = null;
  let left = false;
  const body = h('div', { class: 'presenter' }, h('p', { class: 'muted', text: t('common.loadingPoll') }));
  root.append(body);

  const fullscreen = fullscreenControl();
  const show = (poll) => {
    document.title = docTitle(t('present.docTitle', { question: poll.question }));
    const token = manageToken(poll.id);
    live = liveResults(poll, { title: t('dashboard.title'), token });
    const messages = h('div', { class: 'messages' });
    const status = h('p', { class: 'presenter-status', dataset: { testid: 'presenter-status' } });
    const joinTitle = h('h2', { class: 'presenter-join-title' });
    const syncStatus = () => {
      status.dataset.status = poll.status;
      status.textContent = poll.status === 'closed' ? t('manage.votingClosed') : t('present.open');
      joinTitle.textContent = poll.status === 'closed' ? t('present.ended') : t('present.voteNow');
    };
    syncStatus();

    const closeButton = token ? closeControl(poll, token, messages, syncStatus) : null;
    const url = shareUrl(poll.id);
    body.replaceChildren(
      h(
        'div',
        { class: 'presenter-bar' },
        status,
        h(
          'div',
          { class: 'presenter-actions' },
          fullscreen.button,
          closeButton,
          h('a', { class: 'presenter-back', href: paths.poll(poll.id), text: t('present.back') }),
        ),
      ),
      messages,
      pageTitle(poll.question),
      h(
        'div',
        { class: 'presenter-grid' },
        h('div', { class: 'presenter-results' }, live.element),
        h(
          'aside',
          { class: 'presenter-join', 'aria-label': t('present.howToVote') },
          joinTitle,
          h('img', {
            class: 'presenter-qr',
            src: qrCodeUrl(poll.id),
            alt: t('present.qrAlt'),
            width: 320,
            height: 320,
            'data-testid': 'qr-code',
          }),
          h('p', { class: 'presenter-link', dataset: { testid: 'short-link' } }, h('a', { href: url, text: url.replace(/^https?:\/\//, '') })),
          h('p', { class: 'hint presenter-keys', text: t('present.keys') }),
        ),
      ),
    );
  };

  document.body.classList.add('presenting');
  loadPoll(body, id, { hasLeft: () => left, show });
  return () => {
    left = true;
    if (live) live.stop();
    fullscreen.stop();
    document.body.classList.remove('presenting');
  };
}

/** The owner's "Close poll" button; `changed()` after the poll closed. */
function closeControl(poll, token, messages, changed) {
  const button = h('button', { type: 'button', class: 'secondary presenter-close' });
  const sync = () => {
    button.textContent = poll.status === 'closed' ? t('present.pollClosed') : t('present.close');
    button.disabled = poll.status === 'closed';
  };
  sync();
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.textContent = t('common.closing');
    try {
      const closed = await closePoll(poll.id, token);
      poll.status = closed.status;
      poll.closed_at = closed.closed_at;
      messages.replaceChildren(notice('success', t('present.closedNotice')));
    } catch (error) {
      messages.replaceChildren(notice('error', describeError(error)));
    }
    sync();
    changed();
  });
  return button;
}

/** The full-screen toggle: a button, and the "f" key anywhere on the page
 * (not while typing); Escape leaves full screen. `stop()` removes the key
 * handler and leaves full screen. */
function fullscreenControl() {
  const supported = Boolean(document.documentElement.requestFullscreen);
  const button = h('button', {
    type: 'button',
    class: 'secondary presenter-fullscreen',
    'aria-pressed': 'false',
    'aria-keyshortcuts': 'F',
    text: t('present.fullscreen'),
    hidden: !supported,
  });
  const toggle = () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (supported) document.documentElement.requestFullscreen().catch(() => {});
  };
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const target = event.target;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === 'f' || event.key === 'F') {
      event.preventDefault();
      toggle();
    } else if (event.key === 'Escape' && document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    }
  };
  const onChange = () => button.setAttribute('aria-pressed', String(Boolean(document.fullscreenElement)));
  button.addEventListener('click', toggle);
  document.addEventListener('keydown', onKey);
  document.addEventListener('fullscreenchange', onChange);
  return {
    button,
    stop: () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('fullscreenchange', onChange);
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    },
  };
}

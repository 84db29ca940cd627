// The manage page (#/polls/{id}/manage): close or delete a poll with the
// manage token this browser kept when it created the poll.

import { ApiError, closePoll, deletePoll, describeError, downloadExport, EXPORTS } from './api.js';
import { t } from './i18n.js';
import { liveResults } from './live.js';
import { loadPoll } from './missing.js';
import { paths, shareUrl } from './router.js';
import { forgetPoll, manageToken } from './storage.js';
import { invitesPanel } from './invites.js';
import { docTitle, h, notice, pageTitle, pollFacts, shareBox } from './view.js';

/** Renders the manage page into `root`; returns its cleanup. */
export function renderManage(root, id, { flash = null } = {}) {
  let live = null;
  let left = false;
  const body = h('div', { class: 'manage-page' }, h('p', { class: 'muted', text: t('common.loadingPoll') }));
  root.append(body);
  const stopLive = () => {
    if (live) live.stop();
    live = null;
  };

  const failed = (error) => {
    if (error instanceof ApiError && error.code === 'not_found') forgetPoll(id);
  };
  const show = (poll) => {
    document.title = docTitle(t('manage.docTitle', { question: poll.question }));
    const token = manageToken(poll.id);
    if (!token) {
      body.replaceChildren(
        pageTitle(poll.question),
        pollFacts(poll),
        notice('warning', t('manage.notOwner')),
        h('p', {}, h('a', { href: paths.poll(poll.id), text: t('manage.goToPoll') })),
      );
      return;
    }
    // With the manage token the owner sees the counts whatever the poll's
    // visibility (the socket presents it in a message, never in the URL).
    live = liveResults(poll, { title: t('manage.resultsSoFar'), token });
    const messages = h('div', { class: 'messages' });
    if (flash) messages.append(notice('success', flash));
    const facts = h('div', {}, pollFacts(poll));
    const actions = h('div', { class: 'manage-actions' });
    const panel = h(
      'section',
      { class: 'panel manage-panel', 'aria-labelledby': 'manage-title' },
      h('h2', { id: 'manage-title', text: t('manage.title') }),
      h('p', { class: 'hint', text: t('manage.hint') }),
      actions,
    );
    body.replaceChildren(
      pageTitle(poll.question),
      facts,
      messages,
      panel,
      h('div', { class: 'panel' }, live.element),
      exportPanel(poll, token, (kind, text) => messages.replaceChildren(notice(kind, text))),
      poll.eligibility === 'invite'
        ? invitesPanel(poll, token, { say: (kind, text) => messages.replaceChildren(notice(kind, text)), save })
        : null,
      h(
        'aside',
        { class: 'panel share-panel', 'aria-label': t('share.title') },
        shareBox(shareUrl(poll.id)),
        h(
          'p',
          { class: 'page-links' },
          h('a', { href: paths.poll(poll.id), text: t('links.pollPage') }),
          ' · ',
          h('a', { href: paths.live(poll.id), text: t('links.dashboard') }),
        ),
      ),
    );

    const say = (kind, text) => {
      messages.replaceChildren(notice(kind, text));
    };

    const deleted = () => {
      forgetPoll(poll.id);
      stopLive();
      document.title = docTitle(t('manage.deleted'));
      body.replaceChildren(
        pageTitle(t('manage.deleted')),
        notice('success', t('manage.deletedNote')),
        h('p', {}, h('a', { href: paths.home(), text: t('manage.backToPolls') })),
      );
      body.querySelector('h1').focus();
    };

    // A close or delete that failed: a poll already gone was deleted
    // (elsewhere, or by a retry); anything else is said, and the buttons
    // come back.
    const actionFailed = (error) => {
      if (error instanceof ApiError && error.code === 'not_found') {
        deleted();
        return;
      }
      say('error', describeError(error));
      renderActions();
    };

    const renderActions = () => {
      const closeButton = h('button', {
        type: 'button',
        class: 'secondary',
        text: poll.status === 'closed' ? t('manage.votingClosed') : t('manage.closeVoting'),
        disabled: poll.status === 'closed',
      });
      const deleteButton = h('button', { type: 'button', class: 'danger', text: t('manage.delete') });
      actions.replaceChildren(closeButton, deleteButton);

      closeButton.addEventListener('click', async () => {
        closeButton.disabled = true;
        closeButton.textContent = t('common.closing');
        try {
          poll = await closePoll(poll.id, token);
          facts.replaceChildren(pollFacts(poll));
          say(
            'success',
            poll.visibility === 'always'
              ? t('manage.closedVisible')
              : t('manage.closedNowVisible'),
          );
          renderActions();
          actions.querySelector('.danger').focus();
        } catch (error) {
          actionFailed(error);
        }
      });

      deleteButton.addEventListener('click', () => {
        const confirmButton = h('button', { type: 'button', class: 'danger', text: t('manage.confirmDelete') });
        const cancelButton = h('button', { type: 'button', class: 'secondary', text: t('common.cancel') });
        const question = h('p', {
          class: 'confirm-text',
          id: 'confirm-delete',
          text: t('manage.confirmQuestion'),
        });
        actions.replaceChildren(
          h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'confirm-delete' }, question, confirmButton, cancelButton),
        );
        confirmButton.focus();
        cancelButton.addEventListener('click', () => {
          renderActions();
          actions.querySelector('.danger').focus();
        });
        confirmButton.addEventListener('click', async () => {
          confirmButton.disabled = true;
          cancelButton.disabled = true;
          confirmButton.textContent = t('manage.deleting');
          try {
            await deletePoll(poll.id, token);
            deleted();
          } catch (error) {
            actionFailed(error);
          }
        });
      });
    };
    renderActions();
  };
  loadPoll(body, id, { hasLeft: () => left, show, failed });
  return () => {
    left = true;
    stopLive();
  };
}

/** Hands the browser a download of `blob` named `filename`. */
function save({ blob, filename }) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** What each export holds, for its button. */
const EXPORT_LABELS = {
  'results.csv': () => t('export.resultsCsv'),
  'results.json': () => t('export.resultsJson'),
  'ballots.csv': () => t('export.ballotsCsv'),
};

/** The owner's downloads: each button fetches its file with the manage
 * token (a plain link could not send it), then hands the browser a
 * download of the answer. */
function exportPanel(poll, token, say) {
  const buttons = EXPORTS.map((file) => {
    const button = h('button', { type: 'button', class: 'secondary', text: EXPORT_LABELS[file] ? EXPORT_LABELS[file]() : file });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        save(await downloadExport(poll.id, file, token));
      } catch (error) {
        say('error', describeError(error));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  });
  return h(
    'section',
    { class: 'panel export-panel', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title', text: t('export.title') }),
    h('p', { class: 'hint', text: t('export.hint') }),
    h('div', { class: 'export-actions' }, ...buttons),
  );
}

// The manage page (#/polls/{id}/manage): close or delete a poll with the
// manage token this browser kept when it created the poll.

import { ApiError, closePoll, deletePoll, describeError } from './api.js';
import { liveResults } from './live.js';
import { loadPoll } from './missing.js';
import { absoluteUrl, paths } from './router.js';
import { forgetPoll, manageToken } from './storage.js';
import { h, notice, pageTitle, pollFacts, shareBox } from './view.js';

/** Renders the manage page into `root`; returns its cleanup. */
export function renderManage(root, id) {
  let live = null;
  let left = false;
  const body = h('div', { class: 'manage-page' }, h('p', { class: 'muted', text: 'Loading poll…' }));
  root.append(body);
  const stopLive = () => {
    if (live) live.stop();
    live = null;
  };

  const failed = (error) => {
    if (error instanceof ApiError && error.code === 'not_found') forgetPoll(id);
  };
  const show = (poll) => {
    document.title = `Manage: ${poll.question} · Polling`;
    const token = manageToken(poll.id);
    if (!token) {
      body.replaceChildren(
        pageTitle(poll.question),
        pollFacts(poll),
        notice(
          'warning',
          'Only the browser that created this poll can manage it, and this one did not (or its data was cleared).',
        ),
        h('p', {}, h('a', { href: paths.poll(poll.id), text: 'Go to the poll' })),
      );
      return;
    }
    // With the manage token the owner sees the counts whatever the poll's
    // visibility (the socket presents it in a message, never in the URL).
    live = liveResults(poll, { title: 'Results so far', token });
    const messages = h('div', { class: 'messages' });
    const facts = h('div', {}, pollFacts(poll));
    const actions = h('div', { class: 'manage-actions' });
    const panel = h(
      'section',
      { class: 'panel manage-panel', 'aria-labelledby': 'manage-title' },
      h('h2', { id: 'manage-title', text: 'Manage' }),
      h('p', { class: 'hint', text: 'This browser created the poll, so it holds the poll’s manage key.' }),
      actions,
    );
    body.replaceChildren(
      pageTitle(poll.question),
      facts,
      messages,
      panel,
      h('div', { class: 'panel' }, live.element),
      h(
        'aside',
        { class: 'panel share-panel', 'aria-label': 'Share' },
        shareBox(absoluteUrl(paths.poll(poll.id))),
        h(
          'p',
          { class: 'page-links' },
          h('a', { href: paths.poll(poll.id), text: 'Poll page' }),
          ' · ',
          h('a', { href: paths.live(poll.id), text: 'Live results dashboard' }),
        ),
      ),
    );

    const say = (kind, text) => {
      messages.replaceChildren(notice(kind, text));
    };

    const deleted = () => {
      forgetPoll(poll.id);
      stopLive();
      document.title = 'Poll deleted · Polling';
      body.replaceChildren(
        pageTitle('Poll deleted'),
        notice('success', 'The poll and all its votes were deleted.'),
        h('p', {}, h('a', { href: paths.home(), text: 'Back to the polls' })),
      );
      body.querySelector('h1').focus();
    };

    const renderActions = () => {
      const closeButton = h('button', {
        type: 'button',
        class: 'secondary',
        text: poll.status === 'closed' ? 'Voting is closed' : 'Close voting',
        disabled: poll.status === 'closed',
      });
      const deleteButton = h('button', { type: 'button', class: 'danger', text: 'Delete poll' });
      actions.replaceChildren(closeButton, deleteButton);

      closeButton.addEventListener('click', async () => {
        closeButton.disabled = true;
        closeButton.textContent = 'Closing…';
        try {
          poll = await closePoll(poll.id, token);
          facts.replaceChildren(pollFacts(poll));
          say(
            'success',
            poll.visibility === 'always'
              ? 'Voting is closed. The results stay visible.'
              : 'Voting is closed. The results are now visible to everyone.',
          );
          renderActions();
          actions.querySelector('.danger').focus();
        } catch (error) {
          if (error instanceof ApiError && error.code === 'not_found') {
            deleted();
            return;
          }
          say('error', describeError(error));
          renderActions();
        }
      });

      deleteButton.addEventListener('click', () => {
        const confirmButton = h('button', { type: 'button', class: 'danger', text: 'Yes, delete it' });
        const cancelButton = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
        const question = h('p', {
          class: 'confirm-text',
          id: 'confirm-delete',
          text: 'Delete this poll and all its votes? This cannot be undone.',
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
          confirmButton.textContent = 'Deleting…';
          try {
            await deletePoll(poll.id, token);
            deleted();
          } catch (error) {
            if (error instanceof ApiError && error.code === 'not_found') {
              deleted();
              return;
            }
            say('error', describeError(error));
            renderActions();
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

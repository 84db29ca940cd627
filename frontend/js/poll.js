// The poll page (#/polls/{id}): the ballot, then the live results once this
// browser has voted (or when voting has ended), and the share link. Where the
// poll allows it, "Change my vote" brings the ballot back, with the current
// choices ticked. The results show as the poll's visibility allows: the
// server may hide them until this browser has voted, or until the poll
// closes, and the page says so.

import { ApiError, castVote, describeError, getPoll, qrCodeUrl } from './api.js';
import { liveResults } from './live.js';
import { paths, shareUrl } from './router.js';
import { manageToken, rememberVote, votedBallot } from './storage.js';
import { h, notice, pageTitle, pollFacts, shareBox, uid } from './view.js';
import { loadPoll } from './missing.js';

/** Renders the poll page into `root`; returns its cleanup. */
export function renderPoll(root, id, { flash = null } = {}) {
  const cleanups = [];
  let left = false;
  const body = h('div', { class: 'poll-page' }, h('p', { class: 'muted', text: 'Loading poll…' }));
  root.append(body);

  loadPoll(body, id, {
    hasLeft: () => left,
    show: (poll) => showPoll(body, poll, flash, cleanups),
  });
  return () => {
    left = true;
    for (const cleanup of cleanups) cleanup();
  };
}

function showPoll(body, poll, flash, cleanups) {
  document.title = `${poll.question} · Polling`;
  const messages = h('div', { class: 'messages' });
  const facts = h('div', {}, pollFacts(poll));
  if (flash) messages.append(notice('success', flash));
  const main = h('div', { class: 'poll-main' });
  const links = h(
    'p',
    { class: 'page-links' },
    h('a', { href: paths.live(poll.id), text: 'Live results dashboard' }),
    ' · ',
    h('a', { href: paths.present(poll.id), text: 'Present' }),
    manageToken(poll.id) ? ' · ' : null,
    manageToken(poll.id) ? h('a', { href: paths.manage(poll.id), text: 'Manage this poll' }) : null,
  );
  body.replaceChildren(
    pageTitle(poll.question),
    facts,
    messages,
    main,
    h(
      'aside',
      { class: 'panel share-panel', 'aria-label': 'Share' },
      shareBox(shareUrl(poll.id)),
      h('img', {
        class: 'qr-code',
        src: qrCodeUrl(poll.id),
        alt: 'QR code of the link to this poll',
        width: 160,
        height: 160,
        'data-testid': 'qr-code',
      }),
      links,
    ),
  );

  let live = null;
  let mine = null;
  const changeArea = h('div', { class: 'change-area' });
  const showResults = (initial = null, choices = null) => {
    if (live) live.stop();
    mine = choices;
    live = liveResults(poll, {
      initial,
      mine: choices,
      title: 'Results',
      token: manageToken(poll.id),
      onReveal: refresh,
    });
    cleanups.push(() => live.stop());
    main.replaceChildren(changeArea, h('div', { class: 'panel results-panel' }, live.element));
    offerChange();
  };

  /** Reads the poll again (hidden counts appeared: perhaps it closed). */
  const refresh = async () => {
    try {
      const fresh = await getPoll(poll.id);
      poll.status = fresh.status;
      poll.closed_at = fresh.closed_at;
      facts.replaceChildren(pollFacts(poll));
      if (!changeArea.querySelector('form')) offerChange();
    } catch {
      // The facts stay as they were; a vote after close is refused anyway.
    }
  };

  /** "Change my vote", where the poll allows it and voting is open. */
  const offerChange = () => {
    changeArea.replaceChildren();
    if (!poll.allow_vote_change || poll.status !== 'open') return;
    const button = h('button', { type: 'button', class: 'secondary change-vote', text: 'Change my vote' });
    button.addEventListener('click', () => {
      const form = ballotForm(poll, messages, {
        current: mine,
        submitText: 'Change my vote',
        onVoted: (answer) => {
          const choices = answer.receipt.choices;
          const same = Array.isArray(mine) && mine.length === choices.length && mine.every((c) => choices.includes(c));
          rememberVote(poll.id, choices, answer.receipt.cast_at);
          mine = choices;
          live.view.setMine(choices);
          if (answer.results) live.view.show(answer.results);
          live.recheck();
          messages.replaceChildren(
            same ? notice('info', 'Your vote is unchanged.') : notice('success', 'Your vote was changed.'),
          );
          offerChange();
          focusMessages(messages);
        },
        onRefused: () => offerChange(),
        onCancel: () => {
          offerChange();
          changeArea.querySelector('button').focus();
        },
      });
      changeArea.replaceChildren(form);
      form.querySelector('input').focus();
    });
    changeArea.append(h('div', { class: 'actions' }, button));
  };

  const firstVote = {
    onVoted: (answer) => {
      rememberVote(poll.id, answer.receipt.choices, answer.receipt.cast_at);
      messages.replaceChildren(
        answer.replayed
          ? notice('info', 'You have already voted in this poll; your vote was counted once.')
          : notice('success', 'Thank you, your vote is counted.'),
      );
      showResults(answer.results, answer.receipt.choices);
      // Counts the poll hid until this vote show at once.
      live.recheck();
      focusMessages(messages);
    },
    onRefused: () => showResults(),
  };

  const ballot = votedBallot(poll.id);
  if (ballot) {
    messages.append(notice('info', 'You have already voted in this poll.'));
    showResults(null, ballot.choices);
  } else if (poll.status === 'closed') {
    messages.append(notice('info', 'This poll is closed: voting has ended.'));
    showResults();
  } else {
    main.replaceChildren(ballotForm(poll, messages, firstVote));
  }
}

/** The ballot: radio buttons (one choice) or checkboxes (up to max).
 * `onVoted(answer)` after the server took it, `onRefused()` after it said
 * "already voted" or "closed"; with `current` choices ticked and a Cancel
 * button calling `onCancel` when changing a vote. */
function ballotForm(poll, messages, { onVoted, onRefused, current = null, onCancel = null, submitText = 'Vote' }) {
  const max = poll.multiple ? Math.min(poll.max_choices, poll.options.length) : 1;
  const inputType = poll.multiple ? 'checkbox' : 'radio';
  const name = uid('choice');
  const hintId = uid('hint');
  const errorEl = h('p', { class: 'field-error', id: uid('error'), hidden: true });
  const hint = h('p', {
    class: 'hint',
    id: hintId,
    text: poll.multiple ? `Choose up to ${max} options.` : 'Choose one option.',
  });
  const inputs = poll.options.map((option) => {
    const input = h('input', {
      type: inputType,
      name,
      value: String(option.id),
      id: uid('choice'),
      checked: Array.isArray(current) && current.includes(option.id),
    });
    return { option, input };
  });
  const fieldset = h(
    'fieldset',
    { class: 'ballot', 'aria-describedby': `${hintId} ${errorEl.id}` },
    h('legend', { text: poll.multiple ? 'Your choices' : 'Your choice' }),
    hint,
    inputs.map(({ option, input }) =>
      h('div', { class: 'choice' }, input, h('label', { for: input.id, text: option.text })),
    ),
    errorEl,
  );
  const chosen = () => inputs.filter(({ input }) => input.checked).map(({ option }) => option.id);
  const showError = (message) => {
    errorEl.textContent = message || '';
    errorEl.hidden = !message;
    if (message) fieldset.setAttribute('aria-invalid', 'true');
    else fieldset.removeAttribute('aria-invalid');
  };
  if (poll.multiple) {
    // At the maximum, the unchosen boxes are disabled until one is unticked.
    fieldset.addEventListener('change', () => {
      const full = chosen().length >= max;
      for (const { input } of inputs) input.disabled = full && !input.checked;
      hint.textContent = `Choose up to ${max} options (${chosen().length} chosen).`;
      showError('');
    });
  } else {
    fieldset.addEventListener('change', () => showError(''));
  }

  const submit = h('button', { type: 'submit', class: 'primary', text: submitText });
  const cancel = onCancel ? h('button', { type: 'button', class: 'secondary', text: 'Cancel' }) : null;
  if (cancel) cancel.addEventListener('click', () => onCancel());
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'ballot-form', novalidate: true }, fieldset, formError, h('div', { class: 'actions' }, submit, cancel));
  if (poll.multiple && Array.isArray(current)) {
    for (const { input } of inputs) input.disabled = current.length >= max && !input.checked;
  }

  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    formError.replaceChildren();
    const choices = chosen();
    if (choices.length === 0) {
      showError(poll.multiple ? 'Choose at least one option.' : 'Choose an option.');
      inputs[0].input.focus();
      return;
    }
    if (choices.length > max) {
      showError(`Choose at most ${max} options.`);
      return;
    }
    busy = true;
    submit.disabled = true;
    submit.textContent = current ? 'Changing…' : 'Voting…';
    form.setAttribute('aria-busy', 'true');
    try {
      const answer = await castVote(poll.id, choices);
      onVoted(answer);
    } catch (error) {
      const code = error instanceof ApiError ? error.code : 'network';
      if (code === 'already_voted') {
        if (!current) rememberVote(poll.id, null);
        messages.replaceChildren(notice('warning', describeError(error)));
        onRefused();
        focusMessages(messages);
      } else if (code === 'poll_closed') {
        messages.replaceChildren(notice('warning', describeError(error)));
        poll.status = 'closed';
        onRefused();
        focusMessages(messages);
      } else if (code === 'not_found') {
        messages.replaceChildren(notice('error', 'This poll was deleted; it no longer takes votes.'));
        form.remove();
      } else if (code === 'invalid_choice') {
        showError(describeError(error));
      } else {
        formError.append(notice('error', describeError(error)));
      }
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = submitText;
      form.removeAttribute('aria-busy');
    }
  });

  return h('section', { class: 'panel vote-panel', 'aria-label': 'Vote' }, form);
}

/** Keeps keyboard focus somewhere sensible after the form went away. */
function focusMessages(messages) {
  const first = messages.firstElementChild;
  if (!first) return;
  first.setAttribute('tabindex', '-1');
  first.focus();
}

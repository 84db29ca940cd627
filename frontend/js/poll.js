// The poll page (#/polls/{id}): the ballot, then the live results once this
// browser has voted (or when voting has ended), and the share link. Where the
// poll allows it, "Change my vote" brings the ballot back, with the current
// choices ticked. The results show as the poll's visibility allows: the
// server may hide them until this browser has voted, or until the poll
// closes, and the page says so. A secret poll's server keeps no choices with
// the voter and answers a vote without them: the page then says "you voted",
// never which options.

import { getPoll, qrCodeUrl } from './api.js';
import { ballotForm, focusMessages } from './ballot.js';
import { t } from './i18n.js';
import { liveResults } from './live.js';
import { paths, shareUrl } from './router.js';
import { inviteCode, manageToken, rememberVote, votedBallot } from './storage.js';
import { ballotOf, mineIds, sameBallot } from './tally.js';
import { docTitle, h, notice, pageTitle, pollFacts, shareBox } from './view.js';
import { loadPoll } from './missing.js';

/** Renders the poll page into `root`; returns its cleanup. */
export function renderPoll(root, id, { flash = null } = {}) {
  const cleanups = [];
  let left = false;
  const body = h('div', { class: 'poll-page' }, h('p', { class: 'muted', text: t('common.loadingPoll') }));
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
  document.title = docTitle(poll.question);
  const messages = h('div', { class: 'messages' });
  const facts = h('div', {}, pollFacts(poll));
  if (flash) messages.append(notice('success', flash));
  const main = h('div', { class: 'poll-main' });
  const links = h(
    'p',
    { class: 'page-links' },
    h('a', { href: paths.live(poll.id), text: t('links.dashboard') }),
    ' · ',
    h('a', { href: paths.present(poll.id), text: t('links.present') }),
    manageToken(poll.id) ? ' · ' : null,
    manageToken(poll.id) ? h('a', { href: paths.manage(poll.id), text: t('links.manage') }) : null,
  );
  body.replaceChildren(
    pageTitle(poll.question),
    facts,
    messages,
    main,
    h(
      'aside',
      { class: 'panel share-panel', 'aria-label': t('share.title') },
      shareBox(shareUrl(poll.id)),
      h('img', {
        class: 'qr-code',
        src: qrCodeUrl(poll.id),
        alt: t('share.qrAlt'),
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
  // `mine`: this browser's ballot ({choices}, {ranking} or {scores}).
  const showResults = (initial = null, ballot = null) => {
    if (live) live.stop();
    mine = ballotOf(ballot);
    live = liveResults(poll, {
      initial,
      mine: mineIds(poll, mine),
      title: t('results.title'),
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
    const button = h('button', { type: 'button', class: 'secondary change-vote', text: t('poll.changeVote') });
    button.addEventListener('click', () => {
      const form = ballotForm(poll, messages, {
        current: mine,
        submitText: t('poll.changeVote'),
        onVoted: (answer) => {
          const ballot = ballotOf(answer.receipt);
          const same = sameBallot(mine, ballot);
          rememberVote(poll.id, ballot, answer.receipt.cast_at);
          mine = ballot;
          live.view.setMine(mineIds(poll, ballot));
          if (answer.results) live.view.show(answer.results);
          live.recheck();
          messages.replaceChildren(
            same ? notice('info', t('poll.unchanged')) : notice('success', t('poll.changed')),
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
      form.querySelector('input:not([disabled]), button:not([disabled])').focus();
    });
    changeArea.append(h('div', { class: 'actions' }, button));
  };

  const firstVote = {
    onVoted: (answer) => {
      const known = ballotOf(answer.receipt);
      rememberVote(poll.id, known, answer.receipt.cast_at || null);
      let thanks = answer.replayed ? notice('info', t('poll.replayed')) : notice('success', t('poll.thanks'));
      if (!known) thanks = notice('success', t('poll.votedSecret'));
      messages.replaceChildren(thanks);
      showResults(answer.results, answer.receipt);
      // Counts the poll hid until this vote show at once.
      live.recheck();
      focusMessages(messages);
    },
    onRefused: () => showResults(),
  };

  const ballot = votedBallot(poll.id);
  if (ballot && poll.secret) {
    messages.append(notice('info', t('poll.votedSecret')));
    showResults(null, null);
  } else if (ballot) {
    messages.append(notice('info', t('error.already_voted')));
    showResults(null, ballot);
  } else if (poll.status === 'closed') {
    messages.append(notice('info', t('error.poll_closed')));
    showResults();
  } else if (poll.eligibility === 'invite' && !inviteCode(poll.id)) {
    messages.append(notice('warning', t('invite.needed')));
    showResults();
  } else {
    main.replaceChildren(ballotForm(poll, messages, firstVote));
  }
}

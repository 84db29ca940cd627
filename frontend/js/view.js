// DOM building blocks shared by the pages. Everything a person typed (poll
// questions and options) reaches the page through createElement and
// textContent only: no HTML is ever parsed from data.

import { barFigures, methodOf, mineLabel, resultsHint, TallyDetails } from './tally.js';

/** Creates an element. `props`: `class`, `text`, `dataset`, `on` (event
 * handlers), booleans (set or removed as attributes), anything else as an
 * attribute. `children`: nodes or strings (as text), nulls skipped. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') {
      for (const [type, handler] of Object.entries(value)) el.addEventListener(type, handler);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let uniqueCounter = 0;
/** A fresh id for label/aria wiring. */
export function uid(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A message box. `kind`: info, success, warning or error; errors are
 * announced assertively, the rest politely. */
export function notice(kind, text, ...extra) {
  return h(
    'p',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    text,
    ...extra,
  );
}

/** A page heading that receives focus after navigation. */
export function pageTitle(text) {
  return h('h1', { class: 'page-title', tabindex: '-1', text });
}

/** "1 vote", "3 votes". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** A timestamp for people, in their locale and time zone. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A `<time>` element for an RFC 3339 timestamp. */
export function timeEl(iso) {
  return h('time', { datetime: iso, text: formatTime(iso) });
}

/** How the poll is voted, as a fact. */
const METHOD_FACTS = {
  plurality: (poll) => (poll.multiple ? `Choose up to ${Math.min(poll.max_choices, poll.options.length)}` : 'Choose one'),
  approval: 'Approval: approve any number',
  ranked: 'Ranked choice: rank in order of preference',
  star: 'STAR: score each option 0–5',
};

/** The poll's status and rules, as a short line of facts. */
export function pollFacts(poll) {
  const facts = h('ul', { class: 'facts' });
  const status = poll.status === 'closed' ? 'Closed' : 'Open';
  facts.append(h('li', { class: `status status-${poll.status}`, dataset: { status: poll.status } }, status));
  const method = METHOD_FACTS[methodOf(poll)] || METHOD_FACTS.plurality;
  facts.append(h('li', { dataset: { method: methodOf(poll) } }, typeof method === 'function' ? method(poll) : method));
  if (poll.visibility === 'after_vote') facts.append(h('li', {}, 'Results after you vote'));
  else if (poll.visibility === 'after_close') facts.append(h('li', {}, 'Results when closed'));
  if (poll.allow_vote_change) facts.append(h('li', {}, 'Votes can be changed'));
  if (poll.closed_at) facts.append(h('li', {}, 'Closed ', timeEl(poll.closed_at)));
  else if (poll.closes_at) {
    const past = new Date(poll.closes_at).getTime() <= Date.now();
    facts.append(h('li', {}, past ? 'Closed ' : 'Closes ', timeEl(poll.closes_at)));
  }
  facts.append(h('li', {}, 'Created ', timeEl(poll.created_at)));
  return facts;
}

/** Why the counts are hidden, for each visibility rule. */
const HIDDEN_TEXT = {
  after_vote: 'The results are hidden until you vote, so that early votes do not sway later ones. They appear here as soon as you have voted.',
  after_close: 'The results are hidden until the poll closes. They appear here as soon as it does.',
};

/**
 * Bars and percentages for one poll's results. `show(results)` only ever
 * moves forward: results with a version lower than or equal to the one on
 * screen are ignored (they are stale, e.g. a late fetch after a socket
 * message). The figures update in place inside an `aria-live="polite"`
 * region, so screen readers hear what changed.
 */
export class ResultsView {
  constructor(poll, { mine = null, headingLevel = 'h2', title = 'Results', voteLink = null, onReveal = null } = {}) {
    this.poll = poll;
    this.onReveal = onReveal;
    this.version = null;
    this.rows = new Map();
    this.hiddenText = h('span', {});
    this.hiddenNote = h(
      'p',
      { class: 'notice notice-info results-hidden', dataset: { testid: 'results-hidden' }, hidden: true },
      this.hiddenText,
      voteLink ? ' ' : null,
      voteLink ? h('a', { href: voteLink, text: 'Vote in this poll' }) : null,
    );
    const headingId = uid('results-title');
    this.total = h('p', { class: 'results-total', dataset: { testid: 'total' } }, 'Loading results…');
    this.list = h('ol', { class: 'result-list' });
    for (const option of poll.options) {
      const text = h('span', { class: 'result-text', text: option.text });
      const pct = h('span', { class: 'result-pct', text: '0%' });
      const votes = h('span', { class: 'result-votes', text: '0 votes' });
      const fill = h('span', { class: 'bar-fill' });
      const tag = h('span', { class: 'tag', text: mineLabel(poll), hidden: true });
      const row = h(
        'li',
        { class: 'result', dataset: { optionId: String(option.id) } },
        h('span', { class: 'result-head' }, text, tag, h('span', { class: 'result-figures' }, pct, ' ', votes)),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
      );
      this.rows.set(option.id, { row, pct, votes, fill, tag });
      this.list.append(row);
    }
    this.setMine(mine);
    // Ranked and STAR results say more than bars: rounds, runoff, winner.
    this.details = new TallyDetails(poll);
    this.live = h(
      'div',
      { class: 'results-live', 'aria-live': 'polite', dataset: { version: '', hidden: '' } },
      this.hiddenNote,
      this.total,
      this.list,
      this.details.element,
    );
    const hint = resultsHint(poll);
    this.element = h(
      'section',
      { class: 'results', 'aria-labelledby': headingId },
      h(headingLevel, { id: headingId, text: title }),
      this.live,
      hint ? h('p', { class: 'hint', text: hint }) : null,
    );
  }

  /** Marks the options of this browser's ballot (`choices`, or none). */
  setMine(choices) {
    for (const [id, { row, tag }] of this.rows) {
      const isMine = Array.isArray(choices) && choices.includes(id);
      row.classList.toggle('is-mine', isMine);
      tag.hidden = !isMine;
    }
  }

  /** The server hides the counts from this browser under `visibility`
   * (`after_vote`, `after_close`): says so, and when they will show. Counts
   * once shown are never hidden again (visibility only widens). */
  hide(visibility) {
    if (this.version !== null) return;
    this.hiddenText.textContent = HIDDEN_TEXT[visibility] || 'The results are hidden for now.';
    this.hiddenNote.hidden = false;
    this.total.hidden = true;
    this.list.hidden = true;
    if (this.details.element) this.details.element.hidden = true;
    this.live.dataset.hidden = visibility || 'hidden';
  }

  /** Shows `results` if they are newer than what is shown; returns whether. */
  show(results) {
    if (!results || results.poll_id !== this.poll.id) return false;
    if (this.version !== null && results.version <= this.version) return false;
    this.version = results.version;
    const wasHidden = !this.hiddenNote.hidden;
    this.hiddenNote.hidden = true;
    this.total.hidden = false;
    this.list.hidden = false;
    if (this.details.element) this.details.element.hidden = false;
    this.live.dataset.hidden = '';
    const total = results.total;
    for (const [optionId, figure] of barFigures(this.poll, results)) {
      const row = this.rows.get(optionId);
      if (!row) continue;
      row.pct.textContent = figure.pctText;
      row.votes.textContent = figure.votesText;
      row.row.classList.toggle('is-out', Boolean(figure.out));
      row.fill.style.setProperty('--pct', String(figure.pct));
    }
    this.details.show(results);
    this.total.textContent = total === 0 ? 'No votes yet' : `${plural(total, 'vote')} in total`;
    this.live.dataset.version = String(results.version);
    if (wasHidden && this.onReveal) this.onReveal();
    return true;
  }
}

const STATE_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  gone: 'Poll deleted',
};

const STATE_DETAIL = {
  connecting: 'Opening the live feed.',
  live: 'Results update as votes arrive.',
  reconnecting: 'Lost the live feed; retrying, and refreshing results every few seconds meanwhile.',
  offline: 'This device is offline; results resume when the network is back.',
  gone: 'This poll was deleted; there will be no more results.',
};

/** The visible state of a live feed: connecting, live, reconnecting,
 * offline, or gone (the poll was deleted). */
export class ConnectionBadge {
  constructor() {
    this.label = h('span', { class: 'conn-label' });
    this.detail = h('span', { class: 'conn-detail' });
    this.element = h(
      'p',
      { class: 'conn', role: 'status', dataset: { testid: 'connection' } },
      h('span', { class: 'conn-dot', 'aria-hidden': 'true' }),
      this.label,
      ' ',
      this.detail,
    );
    this.set('connecting');
  }

  set(state) {
    this.element.dataset.state = state;
    this.label.textContent = STATE_TEXT[state] || state;
    this.detail.textContent = STATE_DETAIL[state] || '';
  }
}

/** A share box: the poll's link in a read-only field and a copy button that
 * uses the Clipboard API, falling back to selecting the text and
 * `execCommand('copy')`, and finally to asking for Ctrl+C. */
export function shareBox(url) {
  const inputId = uid('share');
  const input = h('input', { id: inputId, class: 'share-url', type: 'text', readonly: true, value: url });
  const status = h('span', { class: 'share-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', text: 'Copy link' });
  button.addEventListener('click', async () => {
    status.textContent = '';
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(url);
        copied = true;
      }
    } catch {
      copied = false;
    }
    if (!copied) {
      input.focus();
      input.select();
      try {
        copied = document.execCommand('copy');
      } catch {
        copied = false;
      }
    }
    status.textContent = copied
      ? 'Link copied.'
      : 'Could not copy: the link is selected, press Ctrl+C (or ⌘+C) to copy it.';
    if (copied) button.focus();
  });
  return h(
    'div',
    { class: 'share' },
    h('label', { for: inputId, text: 'Link to this poll' }),
    h('div', { class: 'share-row' }, input, button),
    status,
  );
}

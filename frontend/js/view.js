// DOM building blocks shared by the pages. Everything a person typed (poll
// questions and options) reaches the page through createElement and
// textContent only: no HTML is ever parsed from data.

import { formatDateTime, formatPercent, t, tx } from './i18n.js';
import { barFigures, leaderText, methodOf, mineLabel, resultsHint, TallyDetails } from './tally.js';

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

/** A `<time>` element for an RFC 3339 timestamp, in the language's
 * format and the browser's time zone. */
export function timeEl(iso) {
  return h('time', { datetime: iso, text: formatDateTime(iso) });
}

/** A page's document title: "{page} · Polling". */
export function docTitle(page) {
  return page ? `${page} · Polling` : 'Polling';
}

/** How the poll is voted, as a fact. */
const METHOD_FACTS = {
  plurality: (poll) =>
    poll.multiple ? t('facts.chooseUpTo', { count: Math.min(poll.max_choices, poll.options.length) }) : t('facts.chooseOne'),
  approval: () => t('facts.approval'),
  ranked: () => t('facts.ranked'),
  star: () => t('facts.star'),
};

/** The poll's status and rules, as a short line of facts. */
export function pollFacts(poll) {
  const facts = h('ul', { class: 'facts' });
  const status = poll.status === 'closed' ? t('status.closed') : t('status.open');
  facts.append(h('li', { class: `status status-${poll.status}`, dataset: { status: poll.status } }, status));
  const method = METHOD_FACTS[methodOf(poll)] || METHOD_FACTS.plurality;
  facts.append(h('li', { dataset: { method: methodOf(poll) } }, method(poll)));
  if (poll.visibility === 'after_vote') facts.append(h('li', {}, t('facts.afterVote')));
  else if (poll.visibility === 'after_close') facts.append(h('li', {}, t('facts.afterClose')));
  if (poll.allow_vote_change) facts.append(h('li', {}, t('facts.changeable')));
  if (poll.secret) facts.append(h('li', { class: 'secret', dataset: { secret: 'true' } }, t('facts.secret')));
  if (poll.closed_at) facts.append(h('li', {}, tx('facts.closedAt', { time: timeEl(poll.closed_at) })));
  else if (poll.closes_at) {
    const past = new Date(poll.closes_at).getTime() <= Date.now();
    const time = timeEl(poll.closes_at);
    facts.append(h('li', {}, past ? tx('facts.closedAt', { time }) : tx('facts.closesAt', { time })));
  }
  facts.append(h('li', {}, tx('facts.createdAt', { time: timeEl(poll.created_at) })));
  return facts;
}

/** Why the counts are hidden, for each visibility rule. */
const HIDDEN_TEXT = {
  after_vote: () => t('results.hiddenAfterVote'),
  after_close: () => t('results.hiddenAfterClose'),
};

/** The least time between two announcements of changing results, in ms:
 * a bar changing every 100 ms must not flood a screen reader. */
export const ANNOUNCE_INTERVAL = 5000;

/**
 * A polite live region (visually hidden) that says `text` at most once
 * every `interval` ms: the first change at once, later ones held back and
 * then said as one, the latest state only.
 */
export class Announcer {
  constructor(interval = ANNOUNCE_INTERVAL) {
    this.interval = interval;
    this.element = h('p', {
      class: 'visually-hidden',
      'aria-live': 'polite',
      'aria-atomic': 'true',
      dataset: { testid: 'results-announcer' },
    });
    this.lastAt = -Infinity;
    this.pending = null;
    this.timer = null;
  }

  /** Says `text`, now or once the interval since the last has passed. */
  say(text) {
    this.pending = text;
    if (this.timer !== null) return;
    const wait = this.lastAt + this.interval - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = window.setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (this.pending === null) return;
    if (this.pending !== this.element.textContent) this.element.textContent = this.pending;
    this.pending = null;
    this.lastAt = Date.now();
  }

  /** Drops what is held back (the page is left). */
  stop() {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}

/**
 * Bars and percentages for one poll's results. `show(results)` only ever
 * moves forward: results with a version lower than or equal to the one on
 * screen are ignored (they are stale, e.g. a late fetch after a socket
 * message). The figures update in place; screen readers hear a summary of
 * each change (the total and who leads) through a polite Announcer, at
 * most once every few seconds, rather than every figure as it moves.
 */
export class ResultsView {
  constructor(poll, { mine = null, headingLevel = 'h2', title = t('results.title'), voteLink = null, onReveal = null } = {}) {
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
      voteLink ? h('a', { href: voteLink, text: t('links.vote') }) : null,
    );
    const headingId = uid('results-title');
    this.total = h('p', { class: 'results-total', dataset: { testid: 'total' } }, t('results.loading'));
    this.list = h('ol', { class: 'result-list' });
    for (const option of poll.options) {
      const text = h('span', { class: 'result-text', text: option.text });
      const pct = h('span', { class: 'result-pct', text: formatPercent(0) });
      const votes = h('span', { class: 'result-votes', text: t('results.votes', { count: 0 }) });
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
    this.announcer = new Announcer();
    this.live = h(
      'div',
      { class: 'results-live', dataset: { version: '', hidden: '' } },
      this.announcer.element,
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
    this.hiddenText.textContent = HIDDEN_TEXT[visibility] ? HIDDEN_TEXT[visibility]() : t('results.hidden');
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
    const first = this.version === null;
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
    const totalText = total === 0 ? t('results.noVotes') : t('results.total', { count: total });
    this.total.textContent = totalText;
    this.live.dataset.version = String(results.version);
    // What was on screen from the start is read with the page; changes
    // after it, and counts appearing that were hidden, are announced.
    if (!first || wasHidden) {
      const leader = leaderText(this.poll, results);
      this.announcer.say(leader ? t('results.announce', { total: totalText, leader }) : totalText);
    }
    if (wasHidden && this.onReveal) this.onReveal();
    return true;
  }

  /** Stops announcing (the page is left). */
  stop() {
    this.announcer.stop();
  }
}

const STATE_TEXT = {
  connecting: () => t('conn.connecting'),
  live: () => t('conn.live'),
  reconnecting: () => t('conn.reconnecting'),
  offline: () => t('conn.offline'),
  gone: () => t('conn.gone'),
};

const STATE_DETAIL = {
  connecting: () => t('conn.connectingDetail'),
  live: () => t('conn.liveDetail'),
  reconnecting: () => t('conn.reconnectingDetail'),
  offline: () => t('conn.offlineDetail'),
  gone: () => t('conn.goneDetail'),
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
    this.label.textContent = STATE_TEXT[state] ? STATE_TEXT[state]() : state;
    this.detail.textContent = STATE_DETAIL[state] ? STATE_DETAIL[state]() : '';
  }
}

/** A share box: the poll's link in a read-only field and a copy button that
 * uses the Clipboard API, falling back to selecting the text and
 * `execCommand('copy')`, and finally to asking for Ctrl+C. */
export function shareBox(url) {
  const inputId = uid('share');
  const input = h('input', { id: inputId, class: 'share-url', type: 'text', readonly: true, value: url });
  const status = h('span', { class: 'share-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', text: t('share.copy') });
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
    status.textContent = copied ? t('share.copied') : t('share.copyFailed');
    if (copied) button.focus();
  });
  return h(
    'div',
    { class: 'share' },
    h('label', { for: inputId, text: t('share.label') }),
    h('div', { class: 'share-row' }, input, button),
    status,
  );
}

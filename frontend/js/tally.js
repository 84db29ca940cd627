// Voting methods in the results: what a poll's method is, what a ballot or
// receipt holds for it, the figures of each option's bar, and the details
// beyond bars (instant-runoff rounds; the STAR runoff; the winner).
//
// Methods (the poll's `method`, absent on an older server = plurality):
//   plurality  `choices`: one option (or several, up to max_choices)
//   approval   `choices`: any number of options
//   ranked     `ranking`: option ids, most preferred first (instant runoff)
//   star       `scores`: 0..=5 per option, in option order (score, then an
//              automatic runoff between the two highest totals)

import { formatDecimal, formatList, formatNumber, formatPercent, t } from './i18n.js';
import { h, uid } from './view.js';

/** The voting methods, with their names and one-line explanations in the
 * chosen language. */
export const METHODS = [
  {
    value: 'plurality',
    get name() { return t('method.plurality'); },
    get text() { return t('method.pluralityHint'); },
  },
  {
    value: 'approval',
    get name() { return t('method.approval'); },
    get text() { return t('method.approvalHint'); },
  },
  {
    value: 'ranked',
    get name() { return t('method.ranked'); },
    get text() { return t('method.rankedHint'); },
  },
  {
    value: 'star',
    get name() { return t('method.star'); },
    get text() { return t('method.starHint'); },
  },
];

/** The highest STAR score. */
export const MAX_SCORE = 5;

/** The poll's voting method. */
export function methodOf(poll) {
  return poll && poll.method ? poll.method : 'plurality';
}

/** The ballot in a receipt or a remembered vote: `{choices}`, `{ranking}`
 * or `{scores}`, or null when it is not known. */
export function ballotOf(value) {
  if (!value || typeof value !== 'object') return null;
  for (const key of ['choices', 'ranking', 'scores']) {
    if (Array.isArray(value[key])) return { [key]: value[key] };
  }
  return null;
}

/** Whether two ballots are the same vote (choices in any order). */
export function sameBallot(a, b) {
  if (!a || !b) return false;
  if (a.choices && b.choices) {
    return a.choices.length === b.choices.length && a.choices.every((c) => b.choices.includes(c));
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The options a ballot marks as this voter's: the choices; the first
 * preference of a ranking; the top score(s) of a STAR ballot. */
export function mineIds(poll, ballot) {
  const known = ballotOf(ballot);
  if (!known) return null;
  if (known.choices) return known.choices;
  if (known.ranking) return known.ranking.slice(0, 1);
  const top = Math.max(0, ...known.scores);
  if (top === 0) return [];
  return poll.options.filter((_, index) => known.scores[index] === top).map((option) => option.id);
}

/** The tag on this voter's options. */
export function mineLabel(poll) {
  switch (methodOf(poll)) {
    case 'ranked':
      return t('results.mineFirst');
    case 'star':
      return t('results.mineTop');
    default:
      return t('results.mine');
  }
}

/** A note under the results on what the bars mean, or null. */
export function resultsHint(poll) {
  const method = methodOf(poll);
  if (method === 'approval') return t('hint.approval', { hundred: formatPercent(100) });
  if (method === 'ranked') return t('hint.ranked');
  if (method === 'star') return t('hint.star', { max: MAX_SCORE });
  const max = Math.min(poll.max_choices, poll.options.length);
  return poll.multiple && max > 1 ? t('hint.multiple', { count: max, hundred: formatPercent(100) }) : null;
}

/** Each option's bar: `{pct (0..100), pctText, votesText, out}` by option
 * id. Plurality and approval: votes out of voters; ranked: the last
 * round's votes out of its continuing ballots (`out`: eliminated); STAR:
 * the average score out of 5. */
export function barFigures(poll, results) {
  const figures = new Map();
  const total = results.total;
  const method = methodOf(poll);
  if (method === 'star') {
    for (const { option_id: id, votes } of results.counts) {
      const average = total > 0 ? votes / total : 0;
      figures.set(id, {
        pct: Math.round((average * 100) / MAX_SCORE),
        pctText: t('results.average', { average: formatDecimal(average) }),
        votesText: t('results.points', { count: votes }),
      });
    }
    return figures;
  }
  let counts = results.counts;
  let base = total;
  let continuing = null;
  const rounds = method === 'ranked' && results.ranked ? results.ranked.rounds : null;
  if (rounds && rounds.length > 0) {
    counts = rounds[rounds.length - 1].counts;
    continuing = new Set(counts.map((count) => count.option_id));
    base = counts.reduce((sum, count) => sum + count.votes, 0);
  }
  for (const option of poll.options) {
    const count = counts.find((c) => c.option_id === option.id);
    const votes = count ? count.votes : 0;
    const out = continuing !== null && !continuing.has(option.id);
    const pct = base > 0 ? Math.round((votes * 100) / base) : 0;
    figures.set(option.id, {
      pct: Math.min(100, pct),
      pctText: out ? '—' : formatPercent(pct),
      votesText: out ? t('results.eliminated') : t('results.votes', { count: votes }),
      out,
    });
  }
  return figures;
}

/** The option's text by id. */
function optionText(poll, id) {
  const option = poll.options.find((o) => o.id === id);
  return option ? option.text : t('form.optionN', { number: id });
}

/** The winner line: the winner ("so far" while voting is open), "No
 * winner yet" without ballots, or "Tied". */
function winnerText(poll, winner, total) {
  if (winner !== null && winner !== undefined) {
    const option = optionText(poll, winner);
    return poll.status === 'closed' ? t('tally.winner', { option }) : t('tally.winnerSoFar', { option });
  }
  return total > 0 ? t('tally.tied') : t('tally.noWinner');
}

/** Who leads, for announcing a change: the winner line of ranked and STAR
 * polls; the option(s) with the most votes otherwise; null without votes. */
export function leaderText(poll, results) {
  const method = methodOf(poll);
  if (method === 'ranked') return winnerText(poll, results.ranked ? results.ranked.winner : null, results.total);
  if (method === 'star') return winnerText(poll, results.star ? results.star.winner : null, results.total);
  const top = Math.max(0, ...results.counts.map((count) => count.votes));
  if (top === 0) return null;
  const leaders = results.counts.filter((count) => count.votes === top).map((count) => optionText(poll, count.option_id));
  if (leaders.length > 1) return t('results.tiedLead', { options: formatList(leaders) });
  const share = results.total > 0 ? Math.round((top * 100) / results.total) : 0;
  return t('results.leading', { option: leaders[0], share: formatPercent(share) });
}

/**
 * What ranked and STAR results hold beyond the bars, updated in place by
 * `show(results)`: the winner, and the instant-runoff rounds (a table:
 * each option's votes per round, the exhausted ballots, who was
 * eliminated) or the STAR finalists and runoff. `element` is null for
 * plurality and approval.
 */
export class TallyDetails {
  constructor(poll) {
    this.poll = poll;
    this.method = methodOf(poll);
    this.element = null;
    if (this.method !== 'ranked' && this.method !== 'star') return;
    this.winner = h('p', { class: 'tally-winner', dataset: { testid: 'winner' } });
    // The winner is announced with the counts; the rounds table is not
    // read out again on every vote.
    this.body = h('div', { class: 'tally-body', 'aria-live': 'off' });
    this.element = h('div', { class: `tally tally-${this.method}`, dataset: { testid: 'tally' } }, this.winner, this.body);
  }

  show(results) {
    if (!this.element) return;
    if (this.method === 'ranked') this.showRanked(results);
    else this.showStar(results);
  }

  showRanked(results) {
    const ranked = results.ranked || { rounds: [], winner: null };
    this.winner.textContent = winnerText(this.poll, ranked.winner, results.total);
    const rounds = ranked.rounds || [];
    if (rounds.length === 0) {
      this.body.replaceChildren();
      return;
    }
    const captionId = uid('rounds');
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col', text: t('tally.option') }),
      rounds.map((_, index) => h('th', { scope: 'col', text: t('tally.round', { number: index + 1 }) })),
    );
    const rows = this.poll.options.map((option) =>
      h(
        'tr',
        { dataset: { optionId: String(option.id) } },
        h('th', { scope: 'row', text: option.text }),
        rounds.map((round) => {
          const count = round.counts.find((c) => c.option_id === option.id);
          const eliminated = (round.eliminated || []).includes(option.id);
          if (!count) return h('td', { class: 'round-out', text: '—' });
          return h(
            'td',
            { class: eliminated ? 'round-eliminated' : null },
            formatNumber(count.votes),
            eliminated ? h('span', { class: 'round-note', text: ` ${t('tally.eliminated')}` }) : null,
          );
        }),
      ),
    );
    const exhausted = h(
      'tr',
      { class: 'round-exhausted' },
      h('th', { scope: 'row', text: t('tally.exhausted') }),
      rounds.map((round) => h('td', { text: formatNumber(round.exhausted || 0) })),
    );
    this.body.replaceChildren(
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'rounds', 'aria-describedby': captionId },
          h('caption', { id: captionId, text: t('tally.rounds') }),
          h('thead', {}, head),
          h('tbody', {}, rows, exhausted),
        ),
      ),
    );
  }

  showStar(results) {
    const star = results.star || { finalists: null, runoff: null, winner: null };
    this.winner.textContent = winnerText(this.poll, star.winner, results.total);
    const parts = [];
    if (Array.isArray(star.finalists) && star.finalists.length === 2) {
      const [a, b] = star.finalists.map((id) => optionText(this.poll, id));
      parts.push(h('p', { class: 'tally-finalists', dataset: { testid: 'finalists' } }, t('tally.finalists', { a, b })));
      if (star.runoff) {
        const [preferA, preferB] = star.runoff.prefer;
        parts.push(
          h(
            'p',
            { class: 'tally-runoff', dataset: { testid: 'runoff' } },
            t('tally.runoff', {
              preferA: t('tally.prefer', { count: preferA, option: a }),
              preferB: t('tally.prefer', { count: preferB, option: b }),
              equal: t('tally.equal', { count: star.runoff.equal }),
            }),
          ),
        );
      }
    }
    this.body.replaceChildren(...parts);
  }
}

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

import { h, plural, uid } from './view.js';

/** The voting methods, with their one-line explanations. */
export const METHODS = [
  { value: 'plurality', name: 'Plurality', text: 'Pick one (or several) options; most votes wins.' },
  { value: 'approval', name: 'Approval', text: 'Approve any number of options; most approvals wins.' },
  {
    value: 'ranked',
    name: 'Ranked choice',
    text: 'Rank options in order of preference; instant runoff eliminates the last until one has a majority.',
  },
  { value: 'star', name: 'STAR', text: 'Score each option 0–5; the two highest totals go to an automatic runoff.' },
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
      return 'Your first choice';
    case 'star':
      return 'Your top score';
    default:
      return 'Your vote';
  }
}

/** A note under the results on what the bars mean, or null. */
export function resultsHint(poll) {
  const method = methodOf(poll);
  if (method === 'approval') {
    return 'Each voter may approve several options, so the percentages (of voters) can add up to more than 100%.';
  }
  if (method === 'ranked') return 'The bars show the last instant-runoff round; the table shows every round, from first preferences on, with who was eliminated after it.';
  if (method === 'star') return `The bars show each option’s average score out of ${MAX_SCORE}; the two highest totals go to a runoff.`;
  const max = Math.min(poll.max_choices, poll.options.length);
  return poll.multiple && max > 1
    ? `Each voter may choose up to ${max} options, so the percentages (of voters) can add up to more than 100%.`
    : null;
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
        pctText: `${average.toFixed(1)} avg`,
        votesText: `(${plural(votes, 'point')})`,
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
      pctText: out ? '—' : `${pct}%`,
      votesText: out ? '(eliminated)' : `(${plural(votes, 'vote')})`,
      out,
    });
  }
  return figures;
}

/** The option's text by id. */
function optionText(poll, id) {
  const option = poll.options.find((o) => o.id === id);
  return option ? option.text : `Option ${id}`;
}

/** "1 ballot prefers A", "2 ballots prefer A". */
function prefer(count, text) {
  return `${plural(count, 'ballot')} ${count === 1 ? 'prefers' : 'prefer'} ${text}`;
}

/** The winner line: the winner ("so far" while voting is open), "No
 * winner yet" without ballots, or "Tied". */
function winnerText(poll, winner, total) {
  if (winner !== null && winner !== undefined) {
    return `${poll.status === 'closed' ? 'Winner' : 'Winner so far'}: ${optionText(poll, winner)}`;
  }
  return total > 0 ? 'Tied: no winner' : 'No winner yet';
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
      h('th', { scope: 'col', text: 'Option' }),
      rounds.map((_, index) => h('th', { scope: 'col', text: `Round ${index + 1}` })),
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
            String(count.votes),
            eliminated ? h('span', { class: 'round-note', text: ' eliminated' }) : null,
          );
        }),
      ),
    );
    const exhausted = h(
      'tr',
      { class: 'round-exhausted' },
      h('th', { scope: 'row', text: 'Exhausted ballots' }),
      rounds.map((round) => h('td', { text: String(round.exhausted || 0) })),
    );
    this.body.replaceChildren(
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'rounds', 'aria-describedby': captionId },
          h('caption', { id: captionId, text: 'Instant-runoff rounds' }),
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
      parts.push(h('p', { class: 'tally-finalists', dataset: { testid: 'finalists' } }, `Finalists: ${a} and ${b}`));
      if (star.runoff) {
        const [preferA, preferB] = star.runoff.prefer;
        parts.push(
          h(
            'p',
            { class: 'tally-runoff', dataset: { testid: 'runoff' } },
            `Runoff: ${prefer(preferA, a)}, ${prefer(preferB, b)}, ${star.runoff.equal} equal`,
          ),
        );
      }
    }
    this.body.replaceChildren(...parts);
  }
}

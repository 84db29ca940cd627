// The ballot form, per voting method (tally.js): radio buttons or checkboxes
// (plurality), checkboxes (approval), an ordered list built with buttons
// (ranked: add, remove, move up and down, each move announced), and a 0–5
// radio group per option (STAR). Every control works by keyboard alone.

import { ApiError, castVote, describeError } from './api.js';
import { formatNumber, t } from './i18n.js';
import { inviteCode, rememberInvite, rememberVote } from './storage.js';
import { ballotOf, MAX_SCORE, methodOf } from './tally.js';
import { h, notice, uid } from './view.js';

/** The ballot form in its panel. `onVoted(answer)` after the server took
 * it, `onRefused()` after it said "already voted" or "closed"; with the
 * `current` ballot (`{choices}`, `{ranking}`, `{scores}`) filled in and a
 * Cancel button calling `onCancel` when changing a vote. */
export function ballotForm(poll, messages, { onVoted, onRefused, current = null, onCancel = null, submitText = t('ballot.vote') }) {
  const fields = FIELDS[methodOf(poll)] || choiceFields;
  const ballot = fields(poll, ballotOf(current));

  const submit = h('button', { type: 'submit', class: 'primary', text: submitText });
  const cancel = onCancel ? h('button', { type: 'button', class: 'secondary', text: t('common.cancel') }) : null;
  if (cancel) cancel.addEventListener('click', () => onCancel());
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'ballot-form', novalidate: true },
    ballot.element,
    formError,
    h('div', { class: 'actions' }, submit, cancel),
  );

  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    formError.replaceChildren();
    const read = ballot.read();
    if (read.error) {
      ballot.showError(read.error);
      ballot.focus();
      return;
    }
    busy = true;
    submit.disabled = true;
    submit.textContent = current ? t('ballot.changing') : t('ballot.voting');
    form.setAttribute('aria-busy', 'true');
    try {
      const answer = await castVote(poll.id, read.ballot, inviteCode(poll.id));
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
      } else if (code === 'invite_invalid' || code === 'invite_required') {
        // The code is unknown or revoked (or missing): no ballot of this
        // tab can count; the results stay as the poll shows them.
        rememberInvite(poll.id, null);
        messages.replaceChildren(notice('error', describeError(error)));
        onRefused();
        focusMessages(messages);
      } else if (code === 'not_found') {
        messages.replaceChildren(notice('error', t('ballot.deleted')));
        form.remove();
      } else if (code === 'invalid_choice') {
        ballot.showError(describeError(error));
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

  return h('section', { class: 'panel vote-panel', 'aria-label': t('ballot.vote') }, form);
}

/** Keeps keyboard focus somewhere sensible after the form went away. */
export function focusMessages(messages) {
  const first = messages.firstElementChild;
  if (!first) return;
  first.setAttribute('tabindex', '-1');
  first.focus();
}

/** A fieldset with its legend, hint and error line, wired together. */
function group(className, legend, hintText) {
  const errorEl = h('p', { class: 'field-error', id: uid('error'), hidden: true });
  const hint = h('p', { class: 'hint', id: uid('hint'), text: hintText });
  const element = h(
    'fieldset',
    { class: `ballot ${className}`, 'aria-describedby': `${hint.id} ${errorEl.id}` },
    h('legend', { text: legend }),
    hint,
  );
  const showError = (message) => {
    errorEl.textContent = message || '';
    errorEl.hidden = !message;
    if (message) element.setAttribute('aria-invalid', 'true');
    else element.removeAttribute('aria-invalid');
  };
  return { element, hint, errorEl, showError };
}

/** Plurality and approval: radio buttons (one choice) or checkboxes (up to
 * the maximum; approval: any number). */
function choiceFields(poll, current) {
  const approval = methodOf(poll) === 'approval';
  const multiple = approval || poll.multiple;
  const max = approval ? poll.options.length : multiple ? Math.min(poll.max_choices, poll.options.length) : 1;
  const hintFor = (count) => {
    if (approval) return count === null ? t('ballot.approveHint') : t('ballot.approveHintCount', { count });
    if (!multiple) return t('ballot.chooseOneHint');
    if (count === null) return t('ballot.chooseUpToHint', { count: max });
    return t('ballot.chooseUpToHintCount', { count: max, chosen: t('ballot.chosen', { count }) });
  };
  const legend = approval ? t('ballot.yourApprovals') : multiple ? t('ballot.yourChoices') : t('ballot.yourChoice');
  const { element, hint, errorEl, showError } = group('ballot-choices', legend, hintFor(null));
  const name = uid('choice');
  const chosenBefore = current && current.choices ? current.choices : [];
  const inputs = poll.options.map((option) => ({
    option,
    input: h('input', {
      type: multiple ? 'checkbox' : 'radio',
      name,
      value: String(option.id),
      id: uid('choice'),
      checked: chosenBefore.includes(option.id),
    }),
  }));
  element.append(
    ...inputs.map(({ option, input }) => h('div', { class: 'choice' }, input, h('label', { for: input.id, text: option.text }))),
    errorEl,
  );
  const chosen = () => inputs.filter(({ input }) => input.checked).map(({ option }) => option.id);
  // At the maximum, the unchosen boxes are disabled until one is unticked.
  const limit = () => {
    const full = multiple && chosen().length >= max;
    for (const { input } of inputs) input.disabled = full && !input.checked;
  };
  element.addEventListener('change', () => {
    limit();
    if (multiple) hint.textContent = hintFor(chosen().length);
    showError('');
  });
  if (multiple) limit();
  return {
    element,
    showError,
    focus: () => inputs[0].input.focus(),
    read: () => {
      const choices = chosen();
      if (choices.length === 0) {
        return {
          error: approval ? t('ballot.approveOne') : multiple ? t('ballot.chooseAtLeastOne') : t('ballot.chooseAnOption'),
        };
      }
      if (choices.length > max) return { error: t('ballot.chooseAtMost', { count: max }) };
      return { ballot: { choices } };
    },
  };
}

/** Ranked choice: the options this voter ranks, in order, and the rest.
 * Buttons add, remove and move each option; focus stays with the option
 * moved, and a live region says where it went. */
function rankedFields(poll, current) {
  const { element, errorEl, showError } = group(
    'ballot-ranked',
    t('ranked.legend'),
    t('ranked.hint'),
  );
  const valid = new Set(poll.options.map((o) => o.id));
  let ranking = current && current.ranking ? current.ranking.filter((id) => valid.has(id)) : [];
  const textOf = (id) => poll.options.find((o) => o.id === id).text;
  const rankedTitle = h('p', { class: 'ranking-title', id: uid('ranked'), text: t('ranked.ranked') });
  const unrankedTitle = h('p', { class: 'ranking-title', id: uid('unranked'), text: t('ranked.unranked') });
  const rankedList = h('ol', { class: 'ranking', 'aria-labelledby': rankedTitle.id, dataset: { testid: 'ranking' } });
  const unrankedList = h('ul', { class: 'unranked', 'aria-labelledby': unrankedTitle.id, dataset: { testid: 'unranked' } });
  const announcer = h('p', { class: 'visually-hidden', 'aria-live': 'polite', dataset: { testid: 'ranking-announcer' } });
  const rankedEmpty = h('p', { class: 'muted ranking-empty', text: t('ranked.empty') });
  element.append(
    h('div', { class: 'ranking-columns' }, h('div', {}, rankedTitle, rankedList, rankedEmpty), h('div', {}, unrankedTitle, unrankedList)),
    announcer,
    errorEl,
  );

  const button = (action, id, text, label, disabled = false) =>
    h('button', {
      type: 'button',
      class: `ghost rank-${action}`,
      text,
      'aria-label': label,
      disabled,
      dataset: { action, optionId: String(id) },
    });

  const render = () => {
    rankedList.replaceChildren(
      ...ranking.map((id, index) =>
        h(
          'li',
          { class: 'ranked-item', dataset: { optionId: String(id) } },
          h('span', { class: 'rank-text', text: textOf(id) }),
          h(
            'span',
            { class: 'rank-buttons' },
            button('up', id, t('ranked.up'), t('ranked.upLabel', { option: textOf(id) }), index === 0),
            button('down', id, t('ranked.down'), t('ranked.downLabel', { option: textOf(id) }), index === ranking.length - 1),
            button('remove', id, t('ranked.remove'), t('ranked.removeLabel', { option: textOf(id) })),
          ),
        ),
      ),
    );
    rankedEmpty.hidden = ranking.length > 0;
    const rest = poll.options.filter((o) => !ranking.includes(o.id));
    unrankedList.replaceChildren(
      ...rest.map((option) =>
        h(
          'li',
          { class: 'unranked-item', dataset: { optionId: String(option.id) } },
          h('span', { class: 'rank-text', text: option.text }),
          button('add', option.id, t('ranked.add'), t('ranked.addLabel', { option: option.text })),
        ),
      ),
    );
    unrankedTitle.hidden = rest.length === 0;
  };

  /** Focuses the first enabled button among `[action, id]` candidates. */
  const focusFirst = (...candidates) => {
    for (const [action, id] of candidates) {
      if (id === undefined) continue;
      const target = element.querySelector(`button[data-action="${action}"][data-option-id="${id}"]`);
      if (target && !target.disabled) {
        target.focus();
        return;
      }
    }
  };
  const say = (text) => {
    announcer.textContent = text;
  };

  element.addEventListener('click', (event) => {
    const target = event.target.closest('button[data-action]');
    if (!target) return;
    const id = Number(target.dataset.optionId);
    const action = target.dataset.action;
    const at = ranking.indexOf(id);
    showError('');
    if (action === 'add') {
      const rest = poll.options.filter((o) => !ranking.includes(o.id)).map((o) => o.id);
      const next = rest[rest.indexOf(id) + 1] ?? rest[rest.indexOf(id) - 1];
      ranking = [...ranking, id];
      render();
      say(t('ranked.added', { option: textOf(id), position: ranking.length, count: ranking.length }));
      focusFirst(['add', next], ['remove', id]);
    } else if (action === 'remove') {
      ranking = ranking.filter((r) => r !== id);
      render();
      say(t('ranked.removed', { option: textOf(id) }));
      focusFirst(['remove', ranking[at]], ['remove', ranking[at - 1]], ['add', id]);
    } else {
      const to = action === 'up' ? at - 1 : at + 1;
      if (at < 0 || to < 0 || to >= ranking.length) return;
      const moved = [...ranking];
      [moved[at], moved[to]] = [moved[to], moved[at]];
      ranking = moved;
      render();
      say(t('ranked.moved', { option: textOf(id), position: to + 1, count: ranking.length }));
      focusFirst([action, id], [action === 'up' ? 'down' : 'up', id]);
    }
  });
  render();

  return {
    element,
    showError,
    focus: () => {
      const first = element.querySelector('button:not([disabled])');
      if (first) first.focus();
    },
    read: () => (ranking.length === 0 ? { error: t('ranked.rankOne') } : { ballot: { ranking: [...ranking] } }),
  };
}

/** STAR: a 0–5 radio group per option (a fieldset named after it), 0 to
 * begin with; arrow keys move within a group, Tab to the next. */
function starFields(poll, current) {
  const { element, errorEl, showError } = group(
    'ballot-star',
    t('star.legend'),
    t('star.hint', { min: 0, max: MAX_SCORE }),
  );
  const before = current && Array.isArray(current.scores) && current.scores.length === poll.options.length ? current.scores : null;
  const groups = poll.options.map((option, index) => {
    const name = uid('score');
    const radios = [];
    for (let score = 0; score <= MAX_SCORE; score += 1) {
      radios.push(
        h('input', {
          type: 'radio',
          name,
          value: String(score),
          id: uid('score'),
          checked: (before ? before[index] : 0) === score,
        }),
      );
    }
    const fieldset = h(
      'fieldset',
      { class: 'star-option', dataset: { optionId: String(option.id) } },
      h('legend', { text: option.text }),
      h(
        'div',
        { class: 'star-scale' },
        radios.map((radio) => h('span', { class: 'star-score' }, radio, h('label', { for: radio.id, text: formatNumber(Number(radio.value)) }))),
      ),
    );
    return { fieldset, radios };
  });
  element.append(...groups.map((g) => g.fieldset), errorEl);
  element.addEventListener('change', () => showError(''));
  return {
    element,
    showError,
    focus: () => (groups[0].radios.find((r) => r.checked) || groups[0].radios[0]).focus(),
    read: () => {
      const scores = groups.map(({ radios }) => {
        const checked = radios.find((r) => r.checked);
        return checked ? Number(checked.value) : 0;
      });
      return { ballot: { scores } };
    },
  };
}

const FIELDS = {
  plurality: choiceFields,
  approval: choiceFields,
  ranked: rankedFields,
  star: starFields,
};

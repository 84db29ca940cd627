// The home page: the create form, then recent polls a page at a time.

import { ApiError, createPoll, describeError, listPolls } from './api.js';
import { formatDateTime, formatNumber, t } from './i18n.js';
import { MAX_INVITES } from './invites.js';
import { navigate, paths } from './router.js';
import { manageToken, rememberManageToken } from './storage.js';
import { METHODS } from './tally.js';
import { append, docTitle, h, notice, pageTitle, uid } from './view.js';

const MIN_OPTIONS = 2;
const MAX_OPTIONS = 20;
const MAX_QUESTION = 300;
const MAX_OPTION = 120;
const PAGE_SIZE = 10;

/** Renders the home page into `root`; returns its cleanup. */
export function renderHome(root, { flash = null, focusCreate = false } = {}) {
  const form = createForm();
  const recent = recentPolls();
  append(root, [
    pageTitle(t('home.title')),
    flash ? notice('success', flash) : null,
    h('div', { class: 'home-grid' }, form.element, recent.element),
  ]);
  document.title = docTitle(null);
  if (focusCreate) form.focus();
  return () => recent.abort();
}

/** A field error paragraph, wired to its control by aria-describedby. */
function fieldError() {
  return h('p', { class: 'field-error', id: uid('error'), hidden: true });
}

function setError(errorEl, controls, message) {
  errorEl.textContent = message || '';
  errorEl.hidden = !message;
  for (const control of controls) {
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
}

function createForm() {
  const headingId = uid('create-title');
  const formError = h('div', { class: 'form-error', role: 'alert' });

  // Question.
  const questionId = uid('question');
  const questionError = fieldError();
  const questionHint = h('p', { class: 'hint', id: uid('hint'), text: t('form.questionHint', { count: MAX_QUESTION }) });
  const question = h('input', {
    id: questionId,
    name: 'question',
    type: 'text',
    maxlength: String(MAX_QUESTION),
    autocomplete: 'off',
    'aria-describedby': `${questionHint.id} ${questionError.id}`,
  });

  // Options, added and removed dynamically.
  const optionsError = fieldError();
  const optionsHint = h('p', {
    class: 'hint',
    id: uid('hint'),
    text: t('form.optionsHint', { min: MIN_OPTIONS, max: MAX_OPTIONS }),
  });
  const optionList = h('ol', { class: 'option-list' });
  const addButton = h('button', { type: 'button', class: 'secondary add-option', text: t('form.addOption') });
  const optionsFieldset = h(
    'fieldset',
    { class: 'field options-field', 'aria-describedby': `${optionsHint.id} ${optionsError.id}` },
    h('legend', { text: t('form.options') }),
    optionList,
    addButton,
    optionsHint,
    optionsError,
  );

  // The voting method, each with a line on how it counts.
  const methodName = uid('method');
  const methodInputs = METHODS.map((method) => {
    const input = h('input', {
      type: 'radio',
      name: methodName,
      value: method.value,
      id: uid('method'),
      checked: method.value === 'plurality',
    });
    const hint = h('p', { class: 'hint', id: uid('hint'), text: method.text });
    input.setAttribute('aria-describedby', hint.id);
    return { method, input, hint };
  });
  const methodError = fieldError();
  const methodFieldset = h(
    'fieldset',
    { class: 'field method-field', 'aria-describedby': methodError.id },
    h('legend', { text: t('form.method') }),
    methodInputs.map(({ method, input, hint }) =>
      h('div', { class: 'choice method-choice' }, input, h('label', { for: input.id, text: method.name }), hint),
    ),
    methodError,
  );
  const chosenMethod = () => methodInputs.find(({ input }) => input.checked)?.method.value || 'plurality';

  // Single or multiple choice, with a maximum (plurality only).
  const modeName = uid('mode');
  const single = h('input', { type: 'radio', name: modeName, value: 'single', id: uid('single'), checked: true });
  const multiple = h('input', { type: 'radio', name: modeName, value: 'multiple', id: uid('multiple') });
  const maxError = fieldError();
  const maxHint = h('p', { class: 'hint', id: uid('hint'), text: t('form.maxHint') });
  const maxId = uid('max');
  const maxInput = h('input', {
    id: maxId,
    name: 'max_choices',
    type: 'number',
    inputmode: 'numeric',
    min: '1',
    step: '1',
    'aria-describedby': `${maxHint.id} ${maxError.id}`,
  });
  const maxField = h(
    'div',
    { class: 'max-field', hidden: true },
    h('label', { for: maxId, text: t('form.maxLabel') }),
    maxInput,
    maxHint,
  );
  const modeFieldset = h(
    'fieldset',
    { class: 'field' },
    h('legend', { text: t('form.eachVoter') }),
    h('div', { class: 'choice' }, single, h('label', { for: single.id, text: t('form.oneOption') })),
    h('div', { class: 'choice' }, multiple, h('label', { for: multiple.id, text: t('form.severalOptions') })),
    maxField,
    maxError,
  );
  const syncMode = () => {
    maxField.hidden = !multiple.checked;
    if (!multiple.checked) setError(maxError, [maxInput], '');
  };
  single.addEventListener('change', syncMode);
  multiple.addEventListener('change', syncMode);
  // Approval, ranked and STAR ballots cover every option: no maximum.
  const syncMethod = () => {
    modeFieldset.hidden = chosenMethod() !== 'plurality';
    if (modeFieldset.hidden) setError(maxError, [maxInput], '');
  };
  methodFieldset.addEventListener('change', syncMethod);

  // Who sees the results, and whether votes can be changed.
  const visibilityId = uid('visibility');
  const visibilityHint = h('p', {
    class: 'hint',
    id: uid('hint'),
    text: t('form.visibilityHint'),
  });
  const visibility = h(
    'select',
    { id: visibilityId, name: 'visibility', 'aria-describedby': visibilityHint.id },
    h('option', { value: 'always', text: t('form.visAlways') }),
    h('option', { value: 'after_vote', text: t('form.visAfterVote') }),
    h('option', { value: 'after_close', text: t('form.visAfterClose') }),
  );
  const allowChange = h('input', { type: 'checkbox', id: uid('allow-change'), name: 'allow_vote_change' });
  // Invite-only: each code votes once; how many to issue now.
  const inviteOnly = h('input', { type: 'checkbox', id: uid('invite-only'), name: 'eligibility' });
  const inviteOnlyHint = h('p', { class: 'hint', id: uid('hint'), text: t('form.inviteOnlyHint') });
  inviteOnly.setAttribute('aria-describedby', inviteOnlyHint.id);
  const inviteCountId = uid('invites');
  const inviteCountError = fieldError();
  const inviteCount = h('input', {
    id: inviteCountId,
    name: 'invites',
    type: 'number',
    min: '1',
    max: String(MAX_INVITES),
    value: '10',
    inputmode: 'numeric',
    'aria-describedby': inviteCountError.id,
  });
  const inviteCountField = h(
    'div',
    { class: 'field invite-count-field', hidden: true },
    h('label', { for: inviteCountId, text: t('form.inviteCount') }),
    inviteCount,
    inviteCountError,
  );
  inviteOnly.addEventListener('change', () => {
    inviteCountField.hidden = !inviteOnly.checked;
  });

  // A secret ballot keeps who voted apart from what they voted, so a vote
  // cannot be changed: checking it unchecks and disables "allow change".
  const secretHint = h('p', { class: 'hint', id: uid('hint'), text: t('form.secretHint') });
  const secret = h('input', {
    type: 'checkbox',
    id: uid('secret'),
    name: 'secret',
    'aria-describedby': secretHint.id,
  });
  secret.addEventListener('change', () => {
    if (secret.checked) allowChange.checked = false;
    allowChange.disabled = secret.checked;
  });

  const closesId = uid('closes');
  const closesError = fieldError();
  const closesHint = h('p', {
    class: 'hint',
    id: uid('hint'),
    text: t('form.closesHint'),
  });
  const closes = h('input', {
    id: closesId,
    name: 'closes_at',
    type: 'datetime-local',
    'aria-describedby': `${closesHint.id} ${closesError.id}`,
  });

  const submit = h('button', { type: 'submit', class: 'primary', text: t('form.create') });
  const form = h(
    'form',
    { class: 'create-form', novalidate: true, 'aria-labelledby': headingId },
    h(
      'div',
      { class: 'field' },
      h('label', { for: questionId, text: t('form.question') }),
      question,
      questionHint,
      questionError,
    ),
    optionsFieldset,
    methodFieldset,
    modeFieldset,
    h(
      'div',
      { class: 'field' },
      h('label', { for: visibilityId, text: t('form.visibility') }),
      visibility,
      visibilityHint,
    ),
    h(
      'div',
      { class: 'field choice' },
      allowChange,
      h('label', { for: allowChange.id, text: t('form.allowChange') }),
    ),
    h(
      'div',
      { class: 'field choice' },
      inviteOnly,
      h('label', { for: inviteOnly.id, text: t('form.inviteOnly') }),
      inviteOnlyHint,
    ),
    inviteCountField,
    h(
      'div',
      { class: 'field choice' },
      secret,
      h('label', { for: secret.id, text: t('form.secret') }),
      secretHint,
    ),
    h('div', { class: 'field' }, h('label', { for: closesId, text: t('form.closesAt') }), closes, closesHint, closesError),
    formError,
    h('div', { class: 'actions' }, submit),
  );

  const optionInputs = () => [...optionList.querySelectorAll('input')];

  const renumber = () => {
    const items = [...optionList.children];
    items.forEach((item, index) => {
      const number = index + 1;
      item.querySelector('label').textContent = t('form.optionN', { number });
      item.querySelector('input').placeholder = t('form.optionN', { number });
      const remove = item.querySelector('button');
      remove.setAttribute('aria-label', t('form.removeOptionN', { number }));
      remove.disabled = items.length <= MIN_OPTIONS;
    });
    addButton.disabled = items.length >= MAX_OPTIONS;
    maxInput.max = String(items.length);
  };

  const addOption = (value = '') => {
    const id = uid('option');
    const input = h('input', {
      id,
      type: 'text',
      name: 'option',
      maxlength: String(MAX_OPTION),
      autocomplete: 'off',
      'aria-describedby': optionsError.id,
    });
    input.value = value;
    const remove = h('button', { type: 'button', class: 'ghost remove-option', text: t('form.remove') });
    const item = h('li', { class: 'option-row' }, h('label', { for: id, class: 'visually-hidden' }), input, remove);
    remove.addEventListener('click', () => {
      if (optionList.children.length <= MIN_OPTIONS) return;
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      renumber();
      if (next) next.querySelector('input').focus();
    });
    optionList.append(item);
    renumber();
    return input;
  };
  addButton.addEventListener('click', () => {
    if (optionList.children.length >= MAX_OPTIONS) return;
    addOption().focus();
  });
  addOption();
  addOption();

  const fieldControls = {
    question: [questionError, () => [question]],
    options: [optionsError, optionInputs],
    max_choices: [maxError, () => [maxInput]],
    method: [methodError, () => methodInputs.map(({ input }) => input)],
    closes_at: [closesError, () => [closes]],
    invites: [inviteCountError, () => [inviteCount]],
  };
  const clearErrors = () => {
    for (const [errorEl, controls] of Object.values(fieldControls)) setError(errorEl, controls(), '');
    formError.replaceChildren();
  };
  const showFieldError = (field, message) => {
    const [errorEl, controls] = fieldControls[field];
    setError(errorEl, controls(), message);
  };
  const focusFirstInvalid = () => {
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  };

  /** The draft, or null after showing what is wrong with it. */
  const validate = () => {
    const errors = {};
    const text = question.value.trim();
    if (!text) errors.question = t('form.errQuestion');
    else if (text.length > MAX_QUESTION) errors.question = t('form.errQuestionLong', { count: MAX_QUESTION });

    const options = optionInputs().map((input) => input.value.trim());
    const seen = new Set();
    if (options.some((option) => option === '')) {
      errors.options = t('form.errOptionEmpty');
    } else if (options.length < MIN_OPTIONS) {
      errors.options = t('form.errOptionsFew', { count: MIN_OPTIONS });
    } else if (options.length > MAX_OPTIONS) {
      errors.options = t('form.errOptionsMany', { count: MAX_OPTIONS });
    } else if (options.some((option) => option.length > MAX_OPTION)) {
      errors.options = t('form.errOptionLong', { count: MAX_OPTION });
    } else {
      for (const option of options) {
        const key = option.toLowerCase();
        if (seen.has(key)) errors.options = t('form.errOptionsSame');
        seen.add(key);
      }
    }

    const method = chosenMethod();
    const plurality = method === 'plurality';
    const draft = {
      question: text,
      options,
      visibility: visibility.value,
      allow_vote_change: allowChange.checked,
    };
    // Sent only when asked for: an older server refuses unknown fields.
    if (secret.checked) draft.secret = true;
    // `multiple` and `max_choices` are plurality's; other methods are sent
    // by name (an older server, without methods, only knows plurality).
    if (plurality) draft.multiple = multiple.checked;
    else draft.method = method;
    if (plurality && multiple.checked && maxInput.value.trim() !== '') {
      const max = Number(maxInput.value);
      if (!Number.isInteger(max) || max < 1 || max > options.length) {
        errors.max_choices = t('form.errMax', { min: 1, max: options.length });
      } else {
        draft.max_choices = max;
      }
    }

    if (inviteOnly.checked) {
      const count = Number(inviteCount.value);
      if (!Number.isInteger(count) || count < 1 || count > MAX_INVITES) {
        errors.invites = t('form.errInviteCount', { max: formatNumber(MAX_INVITES) });
      } else {
        draft.eligibility = 'invite';
        draft.invites = count;
      }
    }

    if (closes.value) {
      const when = new Date(closes.value); // datetime-local: the local time zone
      if (Number.isNaN(when.getTime())) errors.closes_at = t('form.errDate');
      else if (when.getTime() <= Date.now()) errors.closes_at = t('form.errPast');
      else draft.closes_at = when.toISOString();
    }

    for (const [field, message] of Object.entries(errors)) showFieldError(field, message);
    return Object.keys(errors).length === 0 ? draft : null;
  };

  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    clearErrors();
    const draft = validate();
    if (!draft) {
      formError.append(notice('error', t('form.errCorrect')));
      focusFirstInvalid();
      return;
    }
    busy = true;
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    submit.textContent = t('form.creating');
    try {
      const poll = await createPoll(draft);
      rememberManageToken(poll.id, poll.manage_token);
      // An invite-only poll's codes are on its manage page.
      if (poll.eligibility === 'invite') navigate(paths.manage(poll.id), t('form.createdInvite'));
      else navigate(paths.poll(poll.id), t('form.created'));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'invalid_poll' && fieldControls[error.field]) {
        showFieldError(error.field, error.userMessage);
        formError.append(notice('error', t('form.errCorrect')));
        focusFirstInvalid();
      } else {
        formError.append(notice('error', describeError(error)));
        submit.focus();
      }
    } finally {
      busy = false;
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      submit.textContent = t('form.create');
    }
  });

  const element = h(
    'section',
    { class: 'panel create-panel', 'aria-labelledby': headingId, id: 'create' },
    h('h2', { id: headingId, text: t('home.create') }),
    form,
  );
  return { element, focus: () => question.focus() };
}

function recentPolls() {
  const headingId = uid('recent-title');
  const list = h('ul', { class: 'poll-list' });
  const status = h('div', { class: 'list-status' });
  const more = h('button', { type: 'button', class: 'secondary', text: t('home.loadMore'), hidden: true });
  let cursor = null;
  let aborted = false;
  let loading = false;

  const load = async () => {
    if (loading) return;
    loading = true;
    more.disabled = true;
    status.replaceChildren(h('p', { class: 'muted', text: t('home.loadingPolls') }));
    try {
      const page = await listPolls({ limit: PAGE_SIZE, cursor });
      if (aborted) return;
      status.replaceChildren();
      for (const poll of page.polls) list.append(pollItem(poll));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (list.children.length === 0) {
        status.append(h('p', { class: 'muted', text: t('home.noPolls') }));
      }
    } catch (error) {
      if (aborted) return;
      const retry = h('button', { type: 'button', class: 'secondary', text: t('common.tryAgain') });
      retry.addEventListener('click', load);
      status.replaceChildren(notice('error', describeError(error), ' '), retry);
      more.hidden = true;
    } finally {
      loading = false;
      more.disabled = false;
    }
  };
  more.addEventListener('click', load);
  load();

  const element = h(
    'section',
    { class: 'panel recent-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: t('home.recent') }),
    list,
    status,
    more,
  );
  return { element, abort: () => { aborted = true; } };
}

function pollItem(poll) {
  const facts = [
    poll.status === 'closed' ? t('status.closed') : t('status.open'),
    t('home.optionCount', { count: poll.options.length }),
    t('home.created', { time: formatDateTime(poll.created_at) }),
  ].join(' · ');
  const mine = manageToken(poll.id) !== null;
  return h(
    'li',
    { class: 'poll-item', dataset: { pollId: poll.id } },
    h('a', { class: 'poll-link', href: paths.poll(poll.id), text: poll.question }),
    h(
      'p',
      { class: 'poll-meta' },
      h('span', { class: `status-dot status-${poll.status}`, 'aria-hidden': 'true' }),
      facts,
      mine ? ' · ' : null,
      mine ? h('a', { href: paths.manage(poll.id), text: t('manage.title') }) : null,
    ),
  );
}

// Invite-only polls: the vote link's code (`?invite=<code>`), kept for the
// tab and taken out of the address bar, and the owner's invites panel on
// the manage page: the codes with their links, the CSV of links, adding
// codes and revoking unused ones.

import { addInvites, describeError, downloadInvites, listInvites, revokeInvite } from './api.js';
import { formatNumber, t } from './i18n.js';
import { parse, parsePath } from './router.js';
import { rememberInvite } from './storage.js';
import { h, uid } from './view.js';

/** The most codes one request adds (the server's limit). */
export const MAX_INVITES = 10000;

/** The most rows the panel lists; the CSV has them all. */
const LISTED = 100;

/** Takes the `invite` parameter of the address the app was opened with
 * (a vote link, `/p/{id}?invite=<code>`): keeps the code for that poll in
 * this tab, so the ballot votes with it and nobody types it, and removes
 * it from the address bar (and so from the history and from links copied
 * off the page). */
export function takeInviteFromUrl() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('invite');
  if (code === null) return;
  const route = parsePath(url.pathname) || parse(url.hash);
  if (route.page === 'poll' && /^[a-z2-7]{26}$/i.test(code.trim())) {
    rememberInvite(route.id, code.trim().toLowerCase());
  }
  url.searchParams.delete('invite');
  window.history.replaceState(window.history.state, '', url.toString());
}

/** An invite's status in words. */
const STATUS = {
  unused: () => t('invite.statusUnused'),
  used: () => t('invite.statusUsed'),
  revoked: () => t('invite.statusRevoked'),
};

/** The owner's invites panel for `poll` with its manage `token`; `say(kind,
 * text)` reports to the page, `save({blob, filename})` downloads a file. */
export function invitesPanel(poll, token, { say, save }) {
  const summary = h('p', { class: 'invite-summary', 'aria-live': 'polite' });
  const tableBody = h('tbody');
  const more = h('p', { class: 'hint', hidden: true });
  const countId = uid('invite-count');
  const count = h('input', {
    id: countId,
    type: 'number',
    min: '1',
    max: String(MAX_INVITES),
    value: '10',
    inputmode: 'numeric',
    class: 'invite-count',
  });
  const addButton = h('button', { type: 'button', class: 'secondary', text: t('invite.add') });
  const csvButton = h('button', { type: 'button', class: 'secondary', text: t('invite.download') });
  let invites = [];

  const render = () => {
    const counts = { unused: 0, used: 0, revoked: 0 };
    for (const invite of invites) counts[invite.status] += 1;
    summary.textContent = t('invite.summary', {
      unused: formatNumber(counts.unused),
      used: formatNumber(counts.used),
      revoked: formatNumber(counts.revoked),
    });
    tableBody.replaceChildren(...invites.slice(0, LISTED).map(row));
    more.hidden = invites.length <= LISTED;
    more.textContent = t('invite.showingFirst', { shown: formatNumber(LISTED), total: formatNumber(invites.length) });
  };

  const row = (invite) => {
    const link = h('input', {
      type: 'text',
      readonly: true,
      value: invite.link,
      class: 'invite-link',
      'aria-label': t('invite.linkFor', { code: invite.code }),
    });
    link.addEventListener('focus', () => link.select());
    let action = null;
    if (invite.status === 'unused') {
      action = h('button', {
        type: 'button',
        class: 'secondary small',
        text: t('invite.revoke'),
        'aria-label': t('invite.revokeCode', { code: invite.code }),
      });
      action.addEventListener('click', () => revoke(invite, action));
    }
    return h(
      'tr',
      { 'data-code': invite.code },
      h('td', {}, h('code', { text: invite.code })),
      h('td', { class: `invite-status ${invite.status}`, text: STATUS[invite.status]() }),
      h('td', {}, link),
      h('td', {}, action),
    );
  };

  const revoke = async (invite, button) => {
    button.disabled = true;
    try {
      const revoked = await revokeInvite(poll.id, invite.code, token);
      invites = invites.map((i) => (i.code === revoked.code ? revoked : i));
      render();
      say('success', t('invite.revoked', { code: revoked.code }));
    } catch (error) {
      say('error', describeError(error));
      await load();
    }
  };

  const load = async () => {
    try {
      invites = await listInvites(poll.id, token);
      render();
    } catch (error) {
      say('error', describeError(error));
    }
  };

  addButton.addEventListener('click', async () => {
    const n = Number(count.value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_INVITES) {
      say('error', t('form.errInviteCount', { max: formatNumber(MAX_INVITES) }));
      count.focus();
      return;
    }
    addButton.disabled = true;
    addButton.textContent = t('invite.adding');
    try {
      const added = await addInvites(poll.id, n, token);
      invites = invites.concat(added);
      render();
      say('success', t('invite.added', { count: added.length }));
    } catch (error) {
      say('error', describeError(error));
    } finally {
      addButton.disabled = false;
      addButton.textContent = t('invite.add');
    }
  });

  csvButton.addEventListener('click', async () => {
    csvButton.disabled = true;
    try {
      save(await downloadInvites(poll.id, token));
    } catch (error) {
      say('error', describeError(error));
    } finally {
      csvButton.disabled = false;
    }
  });

  load();
  return h(
    'section',
    { class: 'panel invites-panel', 'aria-labelledby': 'invites-title' },
    h('h2', { id: 'invites-title', text: t('invite.title') }),
    h('p', { class: 'hint', text: t('invite.hint') }),
    summary,
    h(
      'div',
      { class: 'invite-actions' },
      csvButton,
      h('label', { for: countId, text: t('invite.addCount') }),
      count,
      addButton,
    ),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'invite-table' },
        h('caption', { text: t('invite.title') }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: t('invite.colCode') }),
            h('th', { scope: 'col', text: t('invite.colStatus') }),
            h('th', { scope: 'col', text: t('invite.colLink') }),
            h('th', { scope: 'col', text: t('invite.colAction') }),
          ),
        ),
        tableBody,
      ),
    ),
    more,
  );
}

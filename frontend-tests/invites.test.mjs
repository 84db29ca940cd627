// Invite-only polls in the browser: a vote link (/p/{id}?invite=<code>)
// votes without anyone typing the code, and drops it from the address bar;
// a revoked code and a poll opened without one say so clearly; the creator
// makes an invite-only poll from the form and manages its links (add,
// revoke, CSV download); and axe finds no WCAG 2.1 AA violation on the
// manage page's invites panel, light and dark.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { api, axeViolations, browserSuite, createPollViaApi, fillCreateForm, ownerPage, TEST_TIMEOUT, waitForText } from './helpers.mjs';

/** An invite-only poll with `invites` codes, created through the API. */
function invitePoll(server, question, invites = 3) {
  return createPollViaApi(server, { question, options: ['Yes', 'No'], eligibility: 'invite', invites });
}

describe('invite-only polls', () => {
  const suite = browserSuite();


  test('a vote link votes with its code, which nobody types and the address bar drops', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await invitePoll(suite.server, 'Board vote: approve the budget?');
    const [first] = poll.invites;
    assert.equal(first.link, `${suite.server.url}/p/${poll.id}?invite=${first.code}`);
    const page = await suite.page();
    await page.goto(first.link);
    await waitForText(page.locator('h1'), 'Board vote: approve the budget?');
    assert.ok(!page.url().includes(first.code), `the code left the address bar: ${page.url()}`);
    assert.equal(await page.locator('input[name="invite"], [value*="' + first.code + '"]').count(), 0, 'no field shows the code');
    await page.getByLabel('Yes').check();
    await page.getByRole('button', { name: 'Vote', exact: true }).click();
    await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');

    const { body: results } = await api(suite.server, 'GET', `/api/polls/${poll.id}/results`);
    assert.equal(results.total, 1);
    const { body: listed } = await api(suite.server, 'GET', `/api/polls/${poll.id}/invites`, { token: poll.manage_token });
    assert.deepEqual(
      listed.invites.map((i) => i.status).sort(),
      ['unused', 'unused', 'used'],
      'the link’s code is the one that voted',
    );
  });

  test('after voting with a link, counts shown only to voters stay shown in a later tab without the code', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Counts after voting?',
      options: ['Yes', 'No'],
      eligibility: 'invite',
      invites: 2,
      visibility: 'after_vote',
    });
    const context = await suite.context();
    const page = await context.newPage();
    await page.goto(poll.invites[0].link);
    await page.getByLabel('No').check();
    await page.getByRole('button', { name: 'Vote', exact: true }).click();
    await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    // Another tab of that browser: no code in it, but the code's cookie.
    const later = await context.newPage();
    await later.goto(`/#/polls/${poll.id}`);
    await waitForText(later.locator('[data-testid="total"]'), '1 vote in total');
    assert.equal(await later.locator('[data-testid="results-hidden"]').isVisible(), false);
    assert.equal(await later.locator('.ballot-form').count(), 0);
    // A browser that never voted sees no counts.
    const other = await suite.page();
    await other.goto(`/#/polls/${poll.id}`);
    await waitForText(other.locator('.notice'), 'This poll is invite-only. Open the invite link you were sent to vote.');
    await waitForText(other.locator('[data-testid="results-hidden"]'), 'hidden until you vote');
  });

  test('a revoked code, and a poll opened without one, say so', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await invitePoll(suite.server, 'Who chairs next year?');
    const [revoked] = poll.invites;
    const { status } = await api(suite.server, 'POST', `/api/polls/${poll.id}/invites/revoke`, {
      token: poll.manage_token,
      body: { code: revoked.code },
    });
    assert.equal(status, 200);

    const page = await suite.page();
    await page.goto(revoked.link);
    await page.getByLabel('No').check();
    await page.getByRole('button', { name: 'Vote', exact: true }).click();
    await waitForText(page.locator('.notice'), 'This invite link is not valid: it was revoked, or it belongs to another poll.');
    assert.equal(await page.locator('.ballot-form').count(), 0, 'the ballot is gone');

    const stranger = await suite.page();
    await stranger.goto(`/#/polls/${poll.id}`);
    await waitForText(stranger.locator('.notice'), 'This poll is invite-only. Open the invite link you were sent to vote.');
    assert.equal(await stranger.locator('.ballot-form').count(), 0);
    const { body: results } = await api(suite.server, 'GET', `/api/polls/${poll.id}/results`);
    assert.equal(results.total, 0);
  });

  test('the creator makes an invite-only poll and manages its links', { timeout: TEST_TIMEOUT }, async () => {
    const page = await suite.page();
    await page.goto('/');
    await fillCreateForm(page, 'Invited only?', ['Yes', 'No']);
    await page.getByLabel('Invite-only: only people with an invite link can vote, once each').check();
    await page.getByLabel('Invite links to create').fill('4');
    await page.getByRole('button', { name: 'Create poll' }).click();
    await page.waitForURL(/#\/polls\/[^/]+\/manage$/);
    await waitForText(page.locator('.notice'), 'Poll created. Send each invite link below to one voter.');
    const rows = page.locator('.invite-table tbody tr');
    await rows.nth(3).waitFor();
    assert.equal(await rows.count(), 4);
    await waitForText(page.locator('.invite-summary'), '4 unused · 0 used · 0 revoked');

    await page.getByLabel('Links to add').fill('2');
    await page.getByRole('button', { name: 'Add links' }).click();
    await waitForText(page.locator('.notice'), '2 invite links added.');
    assert.equal(await rows.count(), 6);

    const code = await rows.first().getAttribute('data-code');
    await page.getByRole('button', { name: `Revoke code ${code}` }).click();
    await waitForText(page.locator('.notice'), `Code ${code} is revoked: its link votes no more.`);
    await waitForText(page.locator('.invite-summary'), '5 unused · 0 used · 1 revoked');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download links (CSV)' }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^poll-.+-invites\.csv$/);
    const text = await (await file.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
    const lines = text.trim().split('\r\n');
    assert.equal(lines[0], '"code","link","status","created_at","revoked_at"');
    assert.equal(lines.length, 7, text);
    assert.ok(lines.some((line) => line.startsWith(`"${code}",`) && line.includes('"revoked"')), text);
  });

  for (const scheme of ['light', 'dark']) {
    test(`axe finds no WCAG 2.1 AA violation on the invites panel, ${scheme}`, { timeout: TEST_TIMEOUT }, async () => {
      const poll = await invitePoll(suite.server, `Accessible invites, ${scheme}?`, 3);
      await api(suite.server, 'POST', `/api/polls/${poll.id}/votes`, { body: { choices: [0], invite: poll.invites[0].code } });
      await api(suite.server, 'POST', `/api/polls/${poll.id}/invites/revoke`, {
        token: poll.manage_token,
        body: { code: poll.invites[1].code },
      });
      const page = await ownerPage(suite, poll, { colorScheme: scheme, reducedMotion: 'reduce' });
      await page.goto(`/#/polls/${poll.id}/manage`);
      await page.locator('.invite-table tbody tr').nth(2).waitFor();
      await waitForText(page.locator('.invite-summary'), '1 unused · 1 used · 1 revoked');
      const found = await axeViolations(page);
      assert.deepEqual(found, [], found.join('\n'));
    });
  }
});

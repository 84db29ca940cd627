// Creating, voting, watching live, and every message a voter can meet.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  api,
  createPollViaApi,
  fillCreateForm,
  pollIdFromUrl,
  submitCreateForm,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

describe('voting', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);

  test('a poll created through the form gets votes from two browsers, and the dashboard sees both live', { timeout: TEST_TIMEOUT }, async () => {
    const creator = await (await context()).newPage();
    await creator.goto('/');
    await fillCreateForm(creator, 'Which editor?', ['Vim', 'Emacs', 'Nano']);
    const pollId = await submitCreateForm(creator);
    await waitForText(creator.locator('.notice'), 'Poll created');
    assert.equal(await creator.locator('h1').textContent(), 'Which editor?');
    await creator.getByRole('link', { name: 'Manage this poll' }).waitFor();
    const shared = await creator.getByLabel('Link to this poll').inputValue();
    assert.equal(shared, `${suite.server.url}/p/${pollId}`);

    // The dashboard, in a third browser, before anyone votes.
    const dashboard = await (await context()).newPage();
    await dashboard.goto(`/#/polls/${pollId}/live`);
    await waitForConnection(dashboard, 'live');
    await waitForText(dashboard.locator('[data-testid="total"]'), 'No votes yet');
    await dashboard.evaluate(() => {
      window.notReloaded = true;
    });

    for (const [choice, expectedTotal] of [
      ['Emacs', '1 vote in total'],
      ['Nano', '2 votes in total'],
    ]) {
      const voter = await (await context()).newPage();
      await voter.goto(shared);
      await voter.getByLabel(choice).check();
      await voter.getByRole('button', { name: 'Vote' }).click();
      await waitForText(voter.locator('.notice'), 'Thank you, your vote is counted.');
      await waitForText(voter.locator('[data-testid="total"]'), expectedTotal);
      await voter.locator('.result.is-mine', { hasText: choice }).waitFor();
      await waitForText(dashboard.locator('[data-testid="total"]'), expectedTotal);
    }

    const row = (text) => dashboard.locator('.result', { hasText: text });
    await waitForText(row('Emacs'), '50%');
    await waitForText(row('Nano'), '(1 vote)');
    await waitForText(row('Vim'), '0%');
    assert.equal(await dashboard.locator('.results-live').getAttribute('data-version'), '2');
    assert.equal(await dashboard.evaluate(() => window.notReloaded), true, 'the dashboard did not reload');
    // Screen readers hear a summary of each change from a polite announcer
    // (rate-limited: accessibility.test.mjs), not every figure moving.
    assert.equal(await dashboard.locator('.results-live').getAttribute('aria-live'), null);
    assert.equal(await dashboard.locator('[data-testid="results-announcer"]').getAttribute('aria-live'), 'polite');
  });

  test('a browser that voted sees its results again, and the server refuses a second, different ballot', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Tea or coffee?', options: ['Tea', 'Coffee'] });
    const page = await (await context()).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByLabel('Tea').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    // Remembered in this browser: results, no ballot.
    await page.reload();
    await waitForText(page.locator('.notice'), 'You have already voted in this poll.');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
    assert.equal(await page.locator('form.ballot-form').count(), 0);

    // Forgotten by the page but not by the server (the voter cookie): a
    // different ballot is 409 already_voted.
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.getByLabel('Coffee').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice-warning'), 'You have already voted in this poll.');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    // The same ballot again is the server's 200 replay: also "already voted".
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.getByLabel('Tea').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice'), 'You have already voted in this poll; your vote was counted once.');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
  });

  test('voting in a poll closed meanwhile says it is closed, and a closed poll shows its results', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Lunch at noon?', options: ['Yes', 'No'] });
    await voteViaApi(suite.server, poll.id, [1]);
    const page = await (await context()).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByLabel('Yes').check();
    const closed = await api(suite.server, 'POST', `/api/polls/${poll.id}/close`, { token: poll.manage_token });
    assert.equal(closed.status, 200);
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice-warning'), 'This poll is closed: voting has ended.');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    await page.reload();
    await waitForText(page.locator('.notice'), 'This poll is closed: voting has ended.');
    await page.locator('.status[data-status="closed"]').waitFor();
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
    assert.equal(await page.locator('form.ballot-form').count(), 0);
  });

  test('the creator closes and then deletes the poll from the manage page', { timeout: TEST_TIMEOUT }, async () => {
    const page = await (await context()).newPage();
    await page.goto('/#/new');
    await fillCreateForm(page, 'Ship on Friday?', ['Yes', 'No']);
    await page.getByLabel('Several options').check();
    await page.getByLabel('At most this many options').fill('2');
    // Tomorrow, as the datetime-local field takes it (local time).
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
    const pad = (n) => String(n).padStart(2, '0');
    const local = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}T${pad(tomorrow.getHours())}:${pad(tomorrow.getMinutes())}`;
    await page.getByLabel('Closes at').fill(local);
    const pollId = await submitCreateForm(page);
    await waitForText(page.locator('.hint'), 'Choose up to 2 options.');
    await waitForText(page.locator('.facts li'), /^Closes /);
    const created = (await api(suite.server, 'GET', `/api/polls/${pollId}`)).body;
    assert.equal(created.max_choices, 2);
    const closesAt = new Date(created.closes_at).getTime();
    assert.ok(Math.abs(closesAt - tomorrow.getTime()) < 60_000, `closes_at ${created.closes_at}`);

    await page.getByRole('link', { name: 'Manage this poll' }).click();
    await page.waitForURL(/\/manage$/);
    await page.getByRole('button', { name: 'Close voting' }).click();
    await waitForText(page.locator('.notice'), 'Voting is closed.');
    await page.locator('.status[data-status="closed"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Voting is closed' }).isDisabled(), true);

    await page.getByRole('button', { name: 'Delete poll' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Delete poll' }).click();
    await page.getByRole('button', { name: 'Yes, delete it' }).click();
    await waitForText(page.locator('h1'), 'Poll deleted');
    assert.equal((await api(suite.server, 'GET', `/api/polls/${pollId}`)).status, 404);

    for (const route of [`/#/polls/${pollId}`, `/#/polls/${pollId}/live`, `/#/polls/${pollId}/manage`]) {
      await page.goto(route);
      await waitForText(page.locator('h1'), 'Poll not found');
    }
  });

  test('a browser without the manage key is told it cannot manage the poll', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Whose poll?', options: ['Mine', 'Yours'] });
    const page = await (await context()).newPage();
    await page.goto(`/#/polls/${poll.id}/manage`);
    await waitForText(page.locator('.notice-warning'), 'Only the browser that created this poll can manage it');
    assert.equal(await page.getByRole('button', { name: 'Delete poll' }).count(), 0);

    // A wrong key is the server's 403.
    await page.evaluate((id) => localStorage.setItem(`polling:manage:${id}`, 'f'.repeat(64)), poll.id);
    await page.reload();
    await page.getByRole('button', { name: 'Close voting' }).click();
    await waitForText(page.locator('.notice-error'), 'does not belong to this poll');
  });

  test('the form explains what is wrong, locally and as the API answers', { timeout: TEST_TIMEOUT }, async () => {
    const page = await (await context()).newPage();
    await page.goto('/');
    await page.getByRole('button', { name: 'Create poll' }).click();
    await waitForText(page.locator('.field-error'), 'Write a question.');
    await waitForText(page.locator('.field-error'), 'Fill in every option, or remove the empty ones.');
    assert.equal(await page.getByLabel('Question').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Question').evaluate((el) => el === document.activeElement), true);

    await fillCreateForm(page, 'Pick one', ['Same', 'same ']);
    await page.getByRole('button', { name: 'Create poll' }).click();
    await waitForText(page.locator('.field-error'), 'The options must all be different.');

    // Only the server knows control characters are refused: its 422
    // invalid_poll names the field, and the form marks it.
    await page.getByLabel('Question').fill('Bell\u0007?');
    await page.getByLabel('Option 2', { exact: true }).fill('Other');
    await page.getByRole('button', { name: 'Create poll' }).click();
    await page.locator('#create .field-error:not([hidden])').first().waitFor();
    assert.equal(await page.getByLabel('Question').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('.field-error:not([hidden])').count(), 1);

    await page.getByLabel('Question').fill('When?');
    await page.getByLabel('Closes at').fill('2001-01-01T10:00');
    await page.getByRole('button', { name: 'Create poll' }).click();
    await waitForText(page.locator('.field-error'), 'Choose a closing time in the future.');
    assert.equal(await page.getByLabel('Closes at').evaluate((el) => el === document.activeElement), true);

    // Options come and go, between 2 and 20.
    assert.equal(await page.getByRole('button', { name: 'Remove option 1' }).isDisabled(), true);
    for (let i = 3; i <= 20; i += 1) await page.getByRole('button', { name: 'Add option' }).click();
    assert.equal(await page.getByRole('button', { name: 'Add option' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Remove option 20' }).click();
    assert.equal(await page.getByRole('button', { name: 'Add option' }).isDisabled(), false);
    assert.equal(await page.locator('.option-row').count(), 19);
  });

  test('server trouble and a lost network get clear messages', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Still there?', options: ['Yes', 'No'] });
    const page = await (await context()).newPage();
    await page.route('**/api/polls/*/votes', (route) =>
      route.fulfill({
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        body: JSON.stringify({ error: { code: 'unavailable', message: 'the store is unavailable' } }),
      }),
    );
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByLabel('Yes').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice-error'), 'The server is temporarily unavailable. Please try again in 5 s.');

    await page.unroute('**/api/polls/*/votes');
    await page.route('**/api/polls/*/votes', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice-error'), 'Cannot reach the server.');
    assert.equal(await page.getByRole('button', { name: 'Vote' }).isEnabled(), true, 'the voter may try again');

    await page.unroute('**/api/polls/*/votes');
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');

    await page.goto('/#/polls/00000000-0000-7000-8000-000000000000');
    await waitForText(page.locator('h1'), 'Poll not found');
    await waitForText(page.locator('.notice-error'), 'This poll does not exist, or it was deleted.');
    await page.goto('/#/nowhere');
    await waitForText(page.locator('h1'), 'Page not found');
  });

  test('recent polls are listed newest first, a page at a time', { timeout: TEST_TIMEOUT }, async () => {
    const created = [];
    for (let i = 0; i < 12; i += 1) {
      created.push(await createPollViaApi(suite.server, { question: `Paged poll ${i}`, options: ['A', 'B'] }));
    }
    const page = await (await context()).newPage();
    await page.goto('/');
    const items = page.locator('.poll-item');
    await items.first().waitFor();
    assert.equal(await items.count(), 10);
    assert.equal(await items.first().locator('.poll-link').textContent(), 'Paged poll 11');
    await page.getByRole('button', { name: 'Load more polls' }).click();
    await items.nth(10).waitFor();
    const total = (await api(suite.server, 'GET', '/api/polls?limit=100')).body.polls.length;
    assert.equal(await items.count(), Math.min(20, total));
    await items.first().locator('.poll-link').click();
    await waitForText(page.locator('h1'), 'Paged poll 11');
    assert.equal(pollIdFromUrl(page.url()), created[11].id);
  });
});

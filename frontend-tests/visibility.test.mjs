// Results visibility and changing a vote, in a real Chromium: counts hidden
// until this browser votes (poll page and live dashboard) or until the owner
// closes the poll, the owner seeing them all along, and a changed vote
// moving the counts live.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  api,
  createPollViaApi,
  fillCreateForm,
  submitCreateForm,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

describe('visibility and changing a vote', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);

  test('after_vote hides the counts on the poll page and the live dashboard until this browser votes', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Best season?',
      options: ['Spring', 'Summer', 'Autumn'],
      visibility: 'after_vote',
    });
    await voteViaApi(suite.server, poll.id, [1]);
    await voteViaApi(suite.server, poll.id, [1]);

    const browser = await context();
    const dashboard = await browser.newPage();
    await dashboard.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(dashboard, 'live');
    const hidden = dashboard.locator('[data-testid="results-hidden"]');
    await waitForText(hidden, 'hidden until you vote');
    assert.equal(await dashboard.locator('.results-live').getAttribute('data-hidden'), 'after_vote');
    assert.equal(await dashboard.locator('[data-testid="total"]').isVisible(), false, 'no total while hidden');
    assert.equal(await dashboard.locator('.result-list').isVisible(), false, 'no bars while hidden');
    assert.equal(await dashboard.getByText('(2 votes)').count(), 0, 'no count anywhere on the page');
    await hidden.getByRole('link', { name: 'Vote in this poll' }).waitFor();
    await dashboard.evaluate(() => {
      window.notReloaded = true;
    });

    // The same browser votes on the poll page, in another tab.
    const page = await browser.newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByText('Results after you vote').waitFor();
    await page.getByLabel('Autumn').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');
    await waitForText(page.locator('[data-testid="total"]'), '3 votes in total');
    await waitForText(page.locator('.result', { hasText: 'Summer' }), '(2 votes)');
    assert.equal(await page.locator('[data-testid="results-hidden"]').isVisible(), false);

    // The dashboard's live socket shows the counts by itself, without a reload.
    await waitForText(dashboard.locator('[data-testid="total"]'), '3 votes in total', 5_000);
    assert.equal(await hidden.isVisible(), false);
    assert.equal(await dashboard.locator('.results-live').getAttribute('data-hidden'), '');
    assert.equal(await dashboard.evaluate(() => window.notReloaded), true);

    // Another browser, which has not voted, still sees nothing.
    const stranger = await (await context()).newPage();
    await stranger.goto(`/#/polls/${poll.id}/live`);
    await waitForText(stranger.locator('[data-testid="results-hidden"]'), 'hidden until you vote');
    assert.equal(await stranger.locator('[data-testid="total"]').isVisible(), false);
  });

  test('after_close, chosen in the create form: a voter sees no counts until the owner closes, the owner sees them all along', { timeout: TEST_TIMEOUT }, async () => {
    const creator = await (await context()).newPage();
    await creator.goto('/');
    await fillCreateForm(creator, 'Secret ballot?', ['Yes', 'No']);
    await creator.getByLabel('Who sees the results').selectOption('after_close');
    await creator.getByLabel('Allow voters to change their vote').check();
    const pollId = await submitCreateForm(creator);
    const created = await api(suite.server, 'GET', `/api/polls/${pollId}`);
    assert.equal(created.body.visibility, 'after_close');
    assert.equal(created.body.allow_vote_change, true);

    const voter = await (await context()).newPage();
    await voter.goto(`/#/polls/${pollId}`);
    await voter.getByText('Results when closed').waitFor();
    await voter.getByLabel('Yes').check();
    await voter.getByRole('button', { name: 'Vote' }).click();
    await waitForText(voter.locator('.notice'), 'Thank you, your vote is counted.');
    await waitForText(voter.locator('[data-testid="results-hidden"]'), 'hidden until the poll closes');
    assert.equal(await voter.locator('[data-testid="total"]').isVisible(), false);
    await voteViaApi(suite.server, pollId, [1]);

    // The owner's manage page sees the counts (its socket presents the token).
    await creator.getByRole('link', { name: 'Manage this poll' }).click();
    await creator.waitForURL(/\/manage$/);
    await waitForText(creator.locator('[data-testid="total"]'), '2 votes in total');
    assert.equal(await creator.locator('[data-testid="results-hidden"]').isVisible(), false);
    await creator.getByRole('button', { name: 'Close voting' }).click();
    await waitForText(creator.locator('.notice'), 'The results are now visible to everyone.');

    // Closing shows the counts to the voter, live.
    await waitForText(voter.locator('[data-testid="total"]'), '2 votes in total', 5_000);
    await waitForText(voter.locator('.result', { hasText: 'Yes' }), '(1 vote)');
    assert.equal(await voter.locator('[data-testid="results-hidden"]').isVisible(), false);
    assert.equal(await voter.getByRole('button', { name: 'Change my vote' }).count(), 0, 'no changes once closed');
  });

  test('changing a vote moves the counts on the page and on a live dashboard', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Pick a colour',
      options: ['Red', 'Green', 'Blue'],
      allow_vote_change: true,
    });
    await voteViaApi(suite.server, poll.id, [1]);
    const dashboard = await (await context()).newPage();
    await dashboard.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(dashboard, 'live');

    const page = await (await context()).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByText('Votes can be changed').waitFor();
    await page.getByLabel('Red').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    await page.locator('.result.is-mine', { hasText: 'Red' }).waitFor();
    await waitForText(dashboard.locator('.result', { hasText: 'Red' }), '(1 vote)');

    await page.getByRole('button', { name: 'Change my vote' }).click();
    assert.equal(await page.getByLabel('Red').isChecked(), true, 'the current choice is ticked');
    await page.getByLabel('Blue').check();
    await page.getByRole('button', { name: 'Change my vote' }).click();
    await waitForText(page.locator('.notice'), 'Your vote was changed.');
    await waitForText(page.locator('.result', { hasText: 'Blue' }), '(1 vote)');
    await waitForText(page.locator('.result', { hasText: 'Red' }), '(0 votes)');
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    await page.locator('.result.is-mine', { hasText: 'Blue' }).waitFor();
    assert.equal(await page.locator('.result.is-mine').count(), 1, 'one ballot is mine');

    await waitForText(dashboard.locator('.result', { hasText: 'Blue' }), '(1 vote)');
    await waitForText(dashboard.locator('.result', { hasText: 'Red' }), '(0 votes)');
    await waitForText(dashboard.locator('[data-testid="total"]'), '2 votes in total');
    assert.equal(await dashboard.locator('.results-live').getAttribute('data-version'), '3');

    // After a reload the page remembers the new ballot.
    await page.reload();
    await page.locator('.result.is-mine', { hasText: 'Blue' }).waitFor();
    const results = await api(suite.server, 'GET', `/api/polls/${poll.id}/results`);
    assert.deepEqual(
      results.body.counts.map((c) => c.votes),
      [0, 1, 1],
    );
  });
});

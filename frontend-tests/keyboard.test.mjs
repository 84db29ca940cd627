// Keyboard only: create a poll and vote with Tab, arrow keys, Space and
// Enter, with a visible focus on the way.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  createPollViaApi,
  focusIsVisible,
  pollIdFromUrl,
  tabTo,
  waitForText,
} from './helpers.mjs';

const focused = (locator) => locator.evaluate((el) => el === document.activeElement);

describe('keyboard only', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);

  test('create a multiple-choice poll and vote in it without a mouse', { timeout: TEST_TIMEOUT }, async () => {
    const page = await (await context()).newPage();
    await page.goto('/');
    await page.locator('h1').waitFor();

    // The first Tab reaches the skip link, which leads to the content.
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    assert.equal(await focused(skip), true);
    assert.equal(await focusIsVisible(page), true);
    await page.keyboard.press('Enter');
    assert.equal(await focused(page.locator('h1')), true);

    await tabTo(page, page.getByLabel('Question'));
    await page.keyboard.type('Which colours?');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page.getByLabel('Option 1', { exact: true })), true);
    await page.keyboard.type('Red');
    await page.keyboard.press('Tab'); // "Remove" is disabled at two options
    assert.equal(await focused(page.getByLabel('Option 2', { exact: true })), true);
    await page.keyboard.type('Green');
    await page.keyboard.press('Tab');
    const add = page.getByRole('button', { name: 'Add option' });
    assert.equal(await focused(add), true);
    assert.equal(await focusIsVisible(page), true);
    await page.keyboard.press('Space');
    assert.equal(await focused(page.getByLabel('Option 3', { exact: true })), true);
    await page.keyboard.type('Blue');

    await tabTo(page, page.getByLabel('One option'));
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.getByLabel('Several options').isChecked(), true);
    await page.keyboard.press('Tab');
    assert.equal(await focused(page.getByLabel('At most this many options')), true);
    await page.keyboard.type('2');

    const create = page.getByRole('button', { name: 'Create poll' });
    await tabTo(page, create);
    assert.equal(await focusIsVisible(page), true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/polls\/[^/]+$/);
    const pollId = pollIdFromUrl(page.url());
    await waitForText(page.locator('.hint'), 'Choose up to 2 options.');

    // A voter in another browser, also by keyboard: Space ticks boxes; at
    // the maximum the rest are disabled; Enter on "Vote" votes.
    const voter = await (await context()).newPage();
    await voter.goto(`/#/polls/${pollId}`);
    await voter.locator('h1').waitFor();
    await tabTo(voter, voter.getByLabel('Red'));
    await voter.keyboard.press('Space');
    await voter.keyboard.press('Tab');
    await voter.keyboard.press('Tab');
    assert.equal(await focused(voter.getByLabel('Blue')), true);
    await voter.keyboard.press('Space');
    assert.equal(await voter.getByLabel('Green').isDisabled(), true);
    const vote = voter.getByRole('button', { name: 'Vote' });
    await voter.keyboard.press('Tab');
    assert.equal(await focused(vote), true);
    assert.equal(await focusIsVisible(voter), true);
    await voter.keyboard.press('Enter');
    await waitForText(voter.locator('.notice'), 'Thank you, your vote is counted.');
    await waitForText(voter.locator('.result', { hasText: 'Red' }), '(1 vote)');
    await waitForText(voter.locator('.result', { hasText: 'Blue' }), '(1 vote)');
    await waitForText(voter.locator('.result', { hasText: 'Green' }), '(0 votes)');
  });

  test('vote in a single-choice poll with Tab, arrows, Space and Enter, then copy its link', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Cats or dogs?', options: ['Cats', 'Dogs'] });
    const page = await (await context({ permissions: ['clipboard-read', 'clipboard-write'] })).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.locator('h1').waitFor();
    await tabTo(page, page.getByLabel('Cats'));
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.getByLabel('Dogs').isChecked(), true);
    await page.keyboard.press('Space');
    await tabTo(page, page.getByRole('button', { name: 'Vote' }));
    await page.keyboard.press('Enter');
    await waitForText(page.locator('.result', { hasText: 'Dogs' }), '100%');

    // The copy-link button is reachable and answers.
    await tabTo(page, page.getByRole('button', { name: 'Copy link' }));
    await page.keyboard.press('Enter');
    await waitForText(page.locator('.share-status'), 'Link copied.');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${suite.server.url}/p/${poll.id}`);
  });
});

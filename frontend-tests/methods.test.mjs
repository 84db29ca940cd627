// Voting methods in the browser: ranked-choice and STAR polls created
// through the form and voted by keyboard alone in two browsers, approval
// with checkboxes; each result checked against the ballots (winner,
// counts, rounds, runoff), on the poll page and the presenter view.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  api,
  createPollViaApi,
  fillCreateForm,
  screenshotDir,
  submitCreateForm,
  tabTo,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

/** Casts `ballot` ({choices}, {ranking} or {scores}) through the API as a
 * fresh voter. */
async function castViaApi(server, pollId, ballot) {
  const { status, body } = await api(server, 'POST', `/api/polls/${pollId}/votes`, { body: ballot });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

/** Creates a poll through the form with `method` (its radio's label),
 * picked with the arrow keys from "Plurality"; `allowChange` ticks "Allow
 * voters to change their vote". Returns the poll's id. */
async function createWithMethod(page, { question, options, method, allowChange = false }) {
  await page.goto('/#/new');
  await fillCreateForm(page, question, options);
  // The plurality-only fields are in view until another method is chosen.
  assert.equal(await page.getByText('Each voter may choose').isVisible(), true);
  await page.getByLabel('Plurality').focus();
  for (let i = 0; i < 4; i += 1) {
    if (await page.getByLabel(method, { exact: true }).isChecked()) break;
    await page.keyboard.press('ArrowDown');
  }
  assert.equal(await page.getByLabel(method, { exact: true }).isChecked(), true, `${method} is chosen`);
  assert.equal(await page.getByText('Each voter may choose').isVisible(), false);
  if (allowChange) await page.getByLabel('Allow voters to change their vote while the poll is open').check();
  return submitCreateForm(page);
}

/** Tabs to the "Vote" button and presses Enter; waits for the thanks. */
async function voteByKeyboard(page) {
  await tabTo(page, page.getByRole('button', { name: 'Vote', exact: true }));
  await page.keyboard.press('Enter');
  await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');
}

describe('voting methods', () => {
  const suite = browserSuite();

  test('a ranked-choice poll: ballots built with buttons by keyboard in two browsers, instant runoff to a winner', { timeout: TEST_TIMEOUT }, async () => {
    const creator = await (await suite.context()).newPage();
    const pollId = await createWithMethod(creator, {
      question: 'Which language for the new service?',
      options: ['Go', 'Rust', 'Zig'],
      method: 'Ranked choice',
      allowChange: true,
    });
    const { body: poll } = await api(suite.server, 'GET', `/api/polls/${pollId}`);
    assert.equal(poll.method, 'ranked');
    await waitForText(creator.locator('.facts'), 'Ranked choice');

    // Three ballots from elsewhere: Go, Go (then Rust), Rust then Zig.
    await castViaApi(suite.server, pollId, { ranking: [poll.options[0].id] });
    await castViaApi(suite.server, pollId, { ranking: [poll.options[0].id, poll.options[1].id] });
    await castViaApi(suite.server, pollId, { ranking: [poll.options[1].id, poll.options[2].id] });

    // First browser: Zig, then Rust. Focus moves from the "Add" it used to
    // the next option still to add.
    const first = await (await suite.context()).newPage();
    await first.goto(`/#/polls/${pollId}`);
    await tabTo(first, first.getByRole('button', { name: 'Add Zig to the ranking' }));
    await first.keyboard.press('Enter');
    await waitForText(first.locator('[data-testid="ranking-announcer"]'), 'Zig added at position 1 of 1.');
    assert.equal(await first.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Add Rust to the ranking');
    await first.keyboard.press('Space');
    assert.deepEqual(await first.locator('[data-testid="ranking"] .rank-text').allTextContents(), ['Zig', 'Rust']);
    await voteByKeyboard(first);

    // Second browser: Go and Rust, then Rust moved above Go; Zig added and
    // removed again.
    const second = await (await suite.context()).newPage();
    await second.goto(`/#/polls/${pollId}`);
    await tabTo(second, second.getByRole('button', { name: 'Add Go to the ranking' }));
    await second.keyboard.press('Enter');
    await second.keyboard.press('Enter'); // focus went on to "Add Rust"
    await second.keyboard.press('Enter'); // and on to "Add Zig"
    assert.deepEqual(await second.locator('[data-testid="ranking"] .rank-text').allTextContents(), ['Go', 'Rust', 'Zig']);
    await tabTo(second, second.getByRole('button', { name: 'Remove Zig from the ranking' }), { key: 'Shift+Tab' });
    await second.keyboard.press('Enter');
    await waitForText(second.locator('[data-testid="ranking-announcer"]'), 'Zig removed from the ranking.');
    await tabTo(second, second.getByRole('button', { name: 'Move Rust up' }), { key: 'Shift+Tab' });
    await second.keyboard.press('Space');
    await waitForText(second.locator('[data-testid="ranking-announcer"]'), 'Rust moved to position 1 of 2.');
    // Rust is first now: its "Move up" is disabled, focus stays on Rust.
    assert.equal(await second.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Move Rust down');
    assert.deepEqual(await second.locator('[data-testid="ranking"] .rank-text').allTextContents(), ['Rust', 'Go']);
    await voteByKeyboard(second);

    // First preferences Go 2, Rust 2, Zig 1: Zig is eliminated, its ballot
    // goes to Rust, which then has 3 of 5.
    await waitForText(second.locator('[data-testid="total"]'), '5 votes in total');
    await waitForText(second.locator('[data-testid="winner"]'), 'Winner so far: Rust');
    const row = (page, text) => page.locator('.result', { hasText: text });
    await waitForText(row(second, 'Rust'), '(3 votes)');
    await waitForText(row(second, 'Go'), '(2 votes)');
    await waitForText(row(second, 'Zig'), '(eliminated)');
    const rounds = second.locator('table.rounds');
    assert.deepEqual(await rounds.locator('thead th').allTextContents(), ['Option', 'Round 1', 'Round 2']);
    const cells = async (name) => rounds.locator('tbody tr', { hasText: name }).locator('td').allTextContents();
    assert.deepEqual(await cells('Go'), ['2', '2']);
    assert.deepEqual(await cells('Rust'), ['2', '3']);
    assert.deepEqual(await cells('Zig'), ['1 eliminated', '—']);
    assert.deepEqual(await cells('Exhausted'), ['0', '0']);
    // The first browser, live, without reloading.
    await waitForText(first.locator('[data-testid="winner"]'), 'Winner so far: Rust');
    await first.locator('.result.is-mine', { hasText: 'Zig' }).waitFor();

    // "Change my vote" brings back the ranking this browser cast.
    await tabTo(first, first.getByRole('button', { name: 'Change my vote' }));
    await first.keyboard.press('Enter');
    assert.deepEqual(await first.locator('[data-testid="ranking"] .rank-text').allTextContents(), ['Zig', 'Rust']);
    await tabTo(first, first.getByRole('button', { name: 'Cancel' }));
    await first.keyboard.press('Enter');

    // The presenter view tells the same story.
    await creator.goto(`/#/polls/${pollId}/present`);
    await waitForConnection(creator, 'live');
    await waitForText(creator.locator('[data-testid="winner"]'), 'Winner so far: Rust');
    await creator.getByRole('button', { name: 'Close poll' }).click();
    await waitForText(creator.locator('[data-testid="presenter-status"]'), 'Voting is closed');
    const { body: results } = await api(suite.server, 'GET', `/api/polls/${pollId}/results`);
    assert.equal(results.ranked.winner, poll.options[1].id);
  });

  test('a STAR poll: a 0–5 radio group per option, scored by arrow keys in two browsers, then the runoff', { timeout: TEST_TIMEOUT }, async () => {
    const creator = await (await suite.context()).newPage();
    const pollId = await createWithMethod(creator, {
      question: 'Where should the offsite be?',
      options: ['Lisbon', 'Tallinn', 'Kraków'],
      method: 'STAR',
    });
    const { body: poll } = await api(suite.server, 'GET', `/api/polls/${pollId}`);
    assert.equal(poll.method, 'star');

    /** Scores each option by keyboard: Tab into each group (onto its
     * checked radio, 0 to begin with), ArrowRight to the score. */
    const score = async (page, scores) => {
      await page.goto(`/#/polls/${pollId}`);
      const groups = page.locator('fieldset.star-option');
      assert.equal(await groups.count(), 3);
      for (const [index, value] of scores.entries()) {
        const group = page.getByRole('group', { name: poll.options[index].text, exact: true });
        await tabTo(page, group.getByRole('radio', { name: '0', exact: true }));
        for (let i = 0; i < value; i += 1) await page.keyboard.press('ArrowRight');
        assert.equal(await group.getByRole('radio', { name: String(value), exact: true }).isChecked(), true);
      }
      await voteByKeyboard(page);
    };

    await score(await (await suite.context()).newPage(), [5, 3, 0]);
    const second = await (await suite.context()).newPage();
    await score(second, [0, 4, 5]);
    await castViaApi(suite.server, pollId, { scores: [2, 5, 0] });

    // Totals Lisbon 7, Tallinn 12, Kraków 5: Tallinn and Lisbon go to the
    // runoff, where two ballots prefer Tallinn and one Lisbon.
    await waitForText(second.locator('[data-testid="total"]'), '3 votes in total');
    const row = (text) => second.locator('.result', { hasText: text });
    await waitForText(row('Tallinn'), '(12 points)');
    await waitForText(row('Lisbon'), '(7 points)');
    await waitForText(row('Kraków'), '(5 points)');
    await waitForText(row('Tallinn'), '4.0 avg');
    await waitForText(second.locator('[data-testid="winner"]'), 'Winner so far: Tallinn');
    const finalists = await second.locator('[data-testid="finalists"]').textContent();
    assert.match(finalists, /^Finalists: (Tallinn and Lisbon|Lisbon and Tallinn)$/);
    const runoff = await second.locator('[data-testid="runoff"]').textContent();
    assert.match(runoff, /2 ballots prefer Tallinn/);
    assert.match(runoff, /1 ballot prefers Lisbon/);
    assert.match(runoff, /0 equal$/);
    // This browser's top score is marked.
    await second.locator('.result.is-mine', { hasText: 'Kraków' }).waitFor();

    const { body: results } = await api(suite.server, 'GET', `/api/polls/${pollId}/results`);
    assert.equal(results.star.winner, poll.options[1].id);
  });

  test('an approval poll takes any number of ticks, and its bars count approvals', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Which days suit you?',
      options: ['Monday', 'Tuesday', 'Wednesday'],
      method: 'approval',
    });
    assert.equal(poll.method, 'approval');
    const page = await (await suite.context()).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await waitForText(page.locator('.facts'), 'Approval');
    for (const day of ['Monday', 'Tuesday', 'Wednesday']) {
      await tabTo(page, page.getByLabel(day));
      await page.keyboard.press('Space');
    }
    await waitForText(page.locator('.ballot .hint'), '3 approved');
    await voteByKeyboard(page);
    await castViaApi(suite.server, poll.id, { choices: [poll.options[1].id] });
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    await waitForText(page.locator('.result', { hasText: 'Tuesday' }), '(2 votes)');
    await waitForText(page.locator('.result', { hasText: 'Monday' }), '(1 vote)');
    await waitForText(page.locator('.result', { hasText: 'Tuesday' }), '100%');
  });

  for (const scheme of ['light', 'dark']) {
    test(`ranked and STAR ballots and results fit a phone, ${scheme}`, { timeout: TEST_TIMEOUT }, async () => {
      const page = await (await suite.context({ viewport: { width: 390, height: 844 }, colorScheme: scheme })).newPage();
      for (const method of ['ranked', 'star']) {
        const poll = await createPollViaApi(suite.server, {
          question: 'Which of these long-named options would you pick for the quarterly planning offsite?',
          options: ['A quiet countryside retreat', 'The seaside hotel in town', 'Our own office, catered'],
          method,
        });
        await page.goto(`/#/polls/${poll.id}`);
        await page.locator('.ballot').waitFor();
        if (method === 'ranked') {
          await page.getByRole('button', { name: 'Add The seaside hotel in town to the ranking' }).press('Enter');
          await page.getByRole('button', { name: 'Add A quiet countryside retreat to the ranking' }).press('Enter');
        }
        const shoot = async (name) => {
          const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
          assert.ok(fits, `${name} scrolls sideways at 390 px`);
          await page.screenshot({ path: path.join(screenshotDir(), `${name}-390-${scheme}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
        };
        await shoot(`${method}-ballot`);
        await voteByKeyboard(page);
        await page.locator('[data-testid="winner"]').waitFor();
        await shoot(`${method}-results`);
      }
    });
  }
});

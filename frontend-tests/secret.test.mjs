// Secret ballots: the create form's "Secret ballot" box (which disables
// vote changes), the poll page saying the ballot is secret, and, after a
// vote, "you voted" without the choices (the server gives none), also on a
// later visit; with axe-core's WCAG 2.1 AA rules on each page.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  api,
  axeViolations,
  browserSuite,
  fillCreateForm,
  submitCreateForm,
  TEST_TIMEOUT,
  waitForText,
} from './helpers.mjs';

const VOTED = 'You voted. Your ballot is secret: your choices are not kept with you, so they are not shown here.';

describe('secret ballots', () => {
  const suite = browserSuite();

  test('a secret poll created through the form takes a vote and shows "you voted" without the choices', { timeout: TEST_TIMEOUT }, async () => {
    const page = await suite.page();
    await page.goto('/');
    await fillCreateForm(page, 'Who chairs the board?', ['Ada', 'Grace', 'Barbara']);
    const change = page.getByLabel('Allow voters to change their vote while the poll is open');
    await change.check();
    const secret = page.getByLabel('Secret ballot', { exact: true });
    await secret.check();
    assert.equal(await change.isChecked(), false, 'a secret ballot unchecks vote changes');
    assert.equal(await change.isDisabled(), true, 'and disables them');
    assert.deepEqual(await axeViolations(page), [], 'the create form with a secret ballot');
    await secret.uncheck();
    assert.equal(await change.isDisabled(), false, 'unchecking gives vote changes back');
    await secret.check();

    const pollId = await submitCreateForm(page);
    const { body: poll } = await api(suite.server, 'GET', `/api/polls/${pollId}`);
    assert.equal(poll.secret, true, JSON.stringify(poll));
    assert.equal(poll.allow_vote_change, false);
    await waitForText(page.locator('.facts [data-secret="true"]'), 'Secret ballot');

    // Another browser votes: it is told it voted, never what.
    const voter = await suite.page();
    await voter.goto(`/#/polls/${pollId}`);
    await waitForText(voter.locator('.facts [data-secret="true"]'), 'Secret ballot');
    assert.deepEqual(await axeViolations(voter), [], 'a secret poll before voting');
    const answer = voter.waitForResponse((r) => r.url().endsWith(`/api/polls/${pollId}/votes`));
    await voter.getByLabel('Grace').check();
    await voter.getByRole('button', { name: 'Vote' }).click();
    const vote = await (await answer).json();
    assert.deepEqual(vote, { receipt: { poll_id: pollId, secret: true }, results: null });
    await waitForText(voter.locator('.notice'), VOTED);
    // The results still come, from the live socket, with nothing marked as
    // this voter's and no way to change the vote.
    await waitForText(voter.locator('[data-testid="total"]'), '1 vote in total');
    assert.equal(await voter.locator('.result.is-mine').count(), 0, 'no option shown as mine');
    assert.equal(await voter.getByRole('button', { name: 'Change my vote' }).count(), 0);
    const remembered = await voter.evaluate((id) => localStorage.getItem(`polling:voted:${id}`), pollId);
    assert.equal(JSON.parse(remembered).choices, null, 'the browser keeps no choices either');
    assert.deepEqual(await axeViolations(voter), [], 'a secret poll after voting');

    // A later visit says the same; a second ballot is refused.
    await voter.reload();
    await waitForText(voter.locator('.notice'), VOTED);
    await waitForText(voter.locator('[data-testid="total"]'), '1 vote in total');
    assert.equal(await voter.locator('form.ballot-form').count(), 0);
    const second = await voter.evaluate(async (id) => {
      const response = await fetch(`/api/polls/${id}/votes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ choices: [0] }),
      });
      return { status: response.status, body: await response.json() };
    }, pollId);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'already_voted');
  });

  test('the API refuses a secret ballot that allows vote changes: 400 secret_vote_change', { timeout: TEST_TIMEOUT }, async () => {
    const { status, body } = await api(suite.server, 'POST', '/api/polls', {
      body: { question: 'Both?', options: ['a', 'b'], secret: true, allow_vote_change: true },
    });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'secret_vote_change');
  });
});

// User text is text: a poll whose question and options are HTML shows them
// literally on every page, creates no element from them and runs no script;
// and no page violates the server's Content-Security-Policy.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  fillCreateForm,
  submitCreateForm,
  TEST_TIMEOUT,
  voteViaApi,
  waitForText,
} from './helpers.mjs';

const PAYLOAD = '<img src=x onerror=alert(1)>';
const OTHER = '<img src=x onerror=alert(2)>';
const SCRIPT = '<script>alert(3)</script>';

describe('user text', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);

  test('HTML in a question and its options is shown as text and runs nothing', { timeout: TEST_TIMEOUT }, async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    const noImages = async (where) => {
      // The poll's own QR code is the one image the app shows.
      assert.equal(await page.locator('img:not([data-testid="qr-code"])').count(), 0, `no <img> on the ${where}`);
      assert.equal(await page.locator('main script').count(), 0, `no <script> on the ${where}`);
    };

    // Created through the form, as a person would type it.
    await page.goto('/');
    await fillCreateForm(page, PAYLOAD, [PAYLOAD, OTHER, SCRIPT]);
    const pollId = await submitCreateForm(page);
    await voteViaApi(suite.server, pollId, [1]);

    // The ballot.
    assert.equal(await page.locator('h1').textContent(), PAYLOAD);
    assert.deepEqual(await page.locator('.ballot label').allTextContents(), [PAYLOAD, OTHER, SCRIPT]);
    await noImages('poll page');

    // The results, after voting.
    await page.getByLabel(PAYLOAD).check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    assert.deepEqual(await page.locator('.result-text').allTextContents(), [PAYLOAD, OTHER, SCRIPT]);
    await noImages('results');

    // The dashboard, the manage page and the list of recent polls.
    await page.goto(`/#/polls/${pollId}/live`);
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    assert.equal(await page.locator('h1').textContent(), PAYLOAD);
    assert.deepEqual(await page.locator('.result-text').allTextContents(), [PAYLOAD, OTHER, SCRIPT]);
    await noImages('dashboard');

    await page.goto(`/#/polls/${pollId}/manage`);
    await page.getByRole('button', { name: 'Close voting' }).waitFor();
    assert.equal(await page.locator('h1').textContent(), PAYLOAD);
    await noImages('manage page');

    await page.goto('/');
    await page.locator('.poll-link').first().waitFor();
    assert.equal(await page.locator('.poll-link').first().textContent(), PAYLOAD);
    await noImages('home page');
    assert.equal(await page.title(), 'Polling');

    await page.goto(`/#/polls/${pollId}`);
    await page.locator('.result-text').first().waitFor();
    assert.equal(await page.title(), `${PAYLOAD} · Polling`);

    // Nothing ran: no dialog, no CSP violation, no page error.
    assert.equal(await page.evaluate(() => typeof window.alerted), 'undefined');
    ctx.assertClean();
  });
});

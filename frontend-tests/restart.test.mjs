// The dashboard survives a server restart: on PostgreSQL (so the poll and
// its votes outlive the process), the same port, a fresh database. The
// connection state goes to "reconnecting", then "live" again, and a vote
// cast after the restart shows up without reloading.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  createPollViaApi,
  recordConnectionStates,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

describe('server restart', () => {
  const suite = browserSuite({ database: true });
  const context = (options) => suite.context(options);

  test('the dashboard reconnects after the server restarts and shows the next vote', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Will it come back?', options: ['Yes', 'No'] });
    await voteViaApi(suite.server, poll.id, [0]);

    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(page, 'live');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
    await page.evaluate(() => {
      window.notReloaded = true;
    });
    await recordConnectionStates(page);

    await suite.server.stop();
    await waitForConnection(page, 'reconnecting');
    await waitForText(page.locator('[data-testid="connection"]'), 'Reconnecting');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    await suite.server.start();
    await waitForConnection(page, 'live', 20_000);
    await voteViaApi(suite.server, poll.id, [1]);
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    await waitForText(page.locator('.result', { hasText: 'No' }), '50%');

    const states = await page.evaluate(() => window.__connectionStates);
    assert.equal(states[0], 'live');
    assert.ok(states.includes('reconnecting'), `states: ${states}`);
    assert.equal(states.at(-1), 'live');
    assert.ok(states.lastIndexOf('live') > states.indexOf('reconnecting'), `states: ${states}`);
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the dashboard did not reload');
    // Only the console noise of refused connections; nothing the CSP blocked.
    ctx.assertClean();
  });
});

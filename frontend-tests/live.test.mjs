// The live dashboard's feed: versions only move forward, close code 4404
// ends it, periodic fetches cover a refused socket, and it follows the
// browser's network going away and coming back. The socket is mocked with
// page.routeWebSocket where the server cannot be made to misbehave.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  createPollViaApi,
  eventually,
  recordConnectionStates,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

const LIVE = /\/api\/polls\/[^/]+\/live$/;

function message(type, pollId, version, counts) {
  return JSON.stringify({
    type,
    results: {
      poll_id: pollId,
      version,
      total: counts.reduce((sum, votes) => sum + votes, 0),
      counts: counts.map((votes, optionId) => ({ option_id: optionId, votes })),
    },
  });
}

describe('live results', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);

  test('the dashboard never shows an older version than it shows', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Up only?', options: ['Up', 'Down'] });
    const page = await (await context()).newPage();
    let socket;
    await page.routeWebSocket(LIVE, (ws) => {
      socket = ws;
    });
    await page.goto(`/#/polls/${poll.id}/live`);
    await page.locator('.results-live').waitFor();
    await page.evaluate(() => {
      const live = document.querySelector('.results-live');
      window.versions = [];
      new MutationObserver(() => window.versions.push(live.dataset.version)).observe(live, {
        attributes: true,
        attributeFilter: ['data-version'],
      });
    });
    await eventually(() => socket, { message: 'the page to open its socket' });

    socket.send(message('snapshot', poll.id, 5, [3, 2]));
    await waitForText(page.locator('[data-testid="total"]'), '5 votes in total');
    await waitForConnection(page, 'live');
    socket.send(message('results', poll.id, 3, [1, 2])); // stale: ignored
    socket.send(message('results', poll.id, 5, [9, 9])); // same version: ignored
    socket.send(message('results', poll.id, 6, [4, 2]));
    await waitForText(page.locator('[data-testid="total"]'), '6 votes in total');
    await waitForText(page.locator('.result', { hasText: 'Up' }), '67%');
    assert.deepEqual(await page.evaluate(() => window.versions), ['5', '6']);
  });

  test('close code 4404 says the poll is gone and stops reconnecting', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Gone soon?', options: ['Yes', 'No'] });
    const page = await (await context()).newPage();
    let connections = 0;
    await page.routeWebSocket(LIVE, (ws) => {
      connections += 1;
      ws.send(message('snapshot', poll.id, 1, [1, 0]));
      ws.close({ code: 4404, reason: 'poll not found' });
    });
    await page.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(page, 'gone');
    await waitForText(page.locator('[data-testid="connection"]'), 'This poll was deleted');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
    // A reconnect would come within a second (the first backoff is 0.25 to
    // 0.5 s); none does.
    await page.waitForTimeout(1200);
    assert.equal(connections, 1);
  });

  test('while the socket is refused, periodic fetches keep the results fresh, then it goes live again', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Fallback?', options: ['Fetch', 'Socket'] });
    const page = await (await context()).newPage();
    const attempts = [];
    let refuse = true;
    await page.routeWebSocket(LIVE, (ws) => {
      attempts.push(Date.now());
      if (refuse) ws.close({ code: 1011, reason: 'results unavailable' });
      else ws.connectToServer();
    });
    await page.goto(`/#/polls/${poll.id}/live`);
    await recordConnectionStates(page);
    await waitForConnection(page, 'reconnecting');
    await waitForText(page.locator('[data-testid="total"]'), 'No votes yet');

    await voteViaApi(suite.server, poll.id, [0]);
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total', 10_000);
    assert.equal(await page.locator('[data-testid="connection"]').getAttribute('data-state'), 'reconnecting');
    // Backoff, not a tight loop: a handful of attempts in these seconds.
    assert.ok(attempts.length >= 2 && attempts.length <= 8, `attempts: ${attempts.length}`);

    refuse = false;
    await waitForConnection(page, 'live', 20_000);
    await voteViaApi(suite.server, poll.id, [1]);
    await waitForText(page.locator('[data-testid="total"]'), '2 votes in total');
    const states = await page.evaluate(() => window.__connectionStates);
    assert.deepEqual(states.slice(-2), ['reconnecting', 'live']);
  });

  test('the dashboard goes offline with the network and catches up when it returns', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Offline?', options: ['On', 'Off'] });
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(page, 'live');
    await ctx.setOffline(true);
    await waitForConnection(page, 'offline');
    await waitForText(page.locator('[data-testid="connection"]'), 'Offline');
    await voteViaApi(suite.server, poll.id, [1]);
    await ctx.setOffline(false);
    await waitForConnection(page, 'live');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');
  });
});

// Accessibility: axe-core's WCAG 2.1 AA rules on every page of the app
// (home, a poll of each voting method before and after voting, the live
// dashboard with results and with results hidden, the presenter view, the
// manage page, the not-found page), in light and dark, with
// no violation allowed; and live results announced politely and at a
// bounded rate however fast they change.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  axeViolations,
  browserSuite,
  TEST_TIMEOUT,
  api,
  createPollViaApi,
  eventually,
  waitForConnection,
  waitForText,
} from './helpers.mjs';
import { repoRoot } from './server.mjs';

/** The app's least time between two announcements (view.js). */
const { ANNOUNCE_INTERVAL } = await import(pathToFileURL(path.join(repoRoot, 'frontend', 'js', 'view.js')).href);

/** One poll per voting method, with ballots from elsewhere so that the
 * results have bars, rounds and a runoff to show. */
const POLLS = [
  { question: 'Which editor do you use?', options: ['Vim', 'Emacs', 'Nano'], method: 'plurality', ballots: [{ choices: [0] }, { choices: [1] }] },
  { question: 'Which days suit you?', options: ['Monday', 'Tuesday', 'Wednesday'], method: 'approval', ballots: [{ choices: [0, 1] }, { choices: [1] }] },
  { question: 'Which language for the service?', options: ['Go', 'Rust', 'Zig'], method: 'ranked', ballots: [{ ranking: [0, 1] }, { ranking: [1] }, { ranking: [2, 1] }] },
  { question: 'Where should the offsite be?', options: ['Lisbon', 'Tallinn', 'Kraków'], method: 'star', ballots: [{ scores: [5, 3, 0] }, { scores: [0, 4, 5] }, { scores: [2, 5, 0] }] },
];

/** Ballot option indexes → the created poll's option ids. */
function ballotFor(poll, ballot) {
  const id = (index) => poll.options[index].id;
  if (ballot.choices) return { choices: ballot.choices.map(id) };
  if (ballot.ranking) return { ranking: ballot.ranking.map(id) };
  return ballot;
}

const LIVE = /\/api\/polls\/[^/]+\/live$/;

describe('accessibility', () => {
  const suite = browserSuite();
  let polls;
  let hidden;

  /** Creates the polls once, for both colour schemes: one per method, and
   * one whose results wait for a vote (its token is not in the browser). */
  const setUp = async () => {
    if (polls) return polls;
    hidden = await createPollViaApi(suite.server, { question: 'Seen after voting?', options: ['Yes', 'No'], visibility: 'after_vote' });
    polls = [];
    for (const { ballots, ...draft } of POLLS) {
      const poll = await createPollViaApi(suite.server, draft);
      for (const ballot of ballots) {
        const { status, body } = await api(suite.server, 'POST', `/api/polls/${poll.id}/votes`, { body: ballotFor(poll, ballot) });
        assert.equal(status, 201, JSON.stringify(body));
      }
      polls.push(poll);
    }
    return polls;
  };

  for (const scheme of ['light', 'dark']) {
    test(`axe finds no WCAG 2.1 AA violation on any page, ${scheme}`, { timeout: TEST_TIMEOUT * 2 }, async () => {
      const created = await setUp();
      const ctx = await suite.context({ colorScheme: scheme, reducedMotion: 'reduce' });
      // This browser created the polls: it holds their manage tokens.
      await ctx.addInitScript((tokens) => {
        if (window.location.protocol !== 'http:') return;
        for (const [id, token] of tokens) localStorage.setItem(`polling:manage:${id}`, token);
      }, created.map((poll) => [poll.id, poll.manage_token]));
      const page = await ctx.newPage();
      const found = [];
      const check = async (name) => {
        for (const line of await axeViolations(page)) found.push(`${name}: ${line}`);
      };

      await page.goto('/');
      await page.locator('.poll-item').first().waitFor();
      await check('home');
      // The footer names the server instance that answered.
      assert.equal(await page.locator('#served-by').isVisible(), true, 'the footer says which server answered');

      for (const poll of created) {
        await page.goto(`/#/polls/${poll.id}`);
        await page.locator('.ballot-form').waitFor();
        if (poll.method === 'ranked') {
          await page.getByRole('button', { name: `Add ${poll.options[1].text} to the ranking` }).click();
        } else if (poll.method !== 'star') {
          await page.getByLabel(poll.options[2].text).check();
        }
        await check(`${poll.method} ballot`);
        await page.getByRole('button', { name: 'Vote', exact: true }).click();
        await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');
        await waitForConnection(page, 'live');
        await waitForText(page.locator('[data-testid="total"]'), 'votes in total');
        await check(`${poll.method} results`);
      }

      const [plurality, approval, ranked, star] = created;
      await page.goto(`/#/polls/${plurality.id}/live`);
      await waitForConnection(page, 'live');
      await waitForText(page.locator('[data-testid="total"]'), 'votes in total');
      await check('dashboard');
      await page.goto(`/#/polls/${hidden.id}/live`);
      await page.locator('[data-testid="results-hidden"]:not([hidden])').waitFor();
      await check('dashboard, results hidden until voting');

      await page.goto(`/#/polls/${ranked.id}/present`);
      await waitForConnection(page, 'live');
      await page.locator('table.rounds').waitFor();
      await check('presenter (ranked)');
      await page.goto(`/#/polls/${star.id}/present`);
      await waitForConnection(page, 'live');
      await page.locator('[data-testid="runoff"]').waitFor();
      await check('presenter (STAR)');

      await page.goto(`/#/polls/${approval.id}/manage`);
      await waitForConnection(page, 'live');
      await page.getByRole('button', { name: 'Delete poll' }).waitFor();
      await check('manage');
      await page.getByRole('button', { name: 'Delete poll' }).click();
      await check('manage, confirming delete');

      await page.goto('/#/no/such/page');
      await page.locator('.notice-error').waitFor();
      await check('page not found');

      assert.deepEqual(found, [], `axe found violations:\n${found.join('\n')}`);
    });
  }

  test('a result changing every 100 ms is announced politely, a bounded number of times, ending on the latest', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'How fast?', options: ['Up', 'Down'] });
    const page = await (await suite.context()).newPage();
    let socket;
    await page.routeWebSocket(LIVE, (ws) => {
      socket = ws;
    });
    const send = (version) =>
      socket.send(
        JSON.stringify({
          type: version === 1 ? 'snapshot' : 'results',
          results: { poll_id: poll.id, version, total: version, counts: [{ option_id: 0, votes: version }, { option_id: 1, votes: 0 }] },
        }),
      );
    await page.goto(`/#/polls/${poll.id}/live`);
    await eventually(() => socket, { message: 'the page to open its socket' });
    send(1);
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    const announcer = page.locator('[data-testid="results-announcer"]');
    assert.equal(await announcer.getAttribute('aria-live'), 'polite');
    assert.equal(await announcer.textContent(), '', 'what the page showed from the start is not announced');
    // No region above it is live: the figures themselves are not read out.
    assert.equal(await page.locator('.results [aria-live]:not([aria-live="off"])').count(), 1);
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid="results-announcer"]');
      window.announcements = [];
      new MutationObserver(() => window.announcements.push(el.textContent)).observe(el, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });

    // 25 updates over 2.5 seconds.
    const last = 26;
    const started = Date.now();
    for (let version = 2; version <= last; version += 1) {
      send(version);
      await page.waitForTimeout(100);
    }
    const sending = Date.now() - started;
    await waitForText(page.locator('[data-testid="total"]'), `${last} votes in total`);
    // The latest state is said once the interval has passed.
    await waitForText(announcer, `${last} votes in total`, ANNOUNCE_INTERVAL + 5000);
    const announcements = await page.evaluate(() => window.announcements);
    const bound = Math.ceil(sending / ANNOUNCE_INTERVAL) + 1;
    assert.ok(announcements.length >= 1, 'the changes were announced');
    assert.ok(announcements.length <= bound, `${announcements.length} announcements for ${last - 1} changes in ${sending} ms (at most ${bound}): ${JSON.stringify(announcements)}`);
    assert.equal(announcements.at(-1), `${last} votes in total. Leading: Up, 100%.`);
  });
});

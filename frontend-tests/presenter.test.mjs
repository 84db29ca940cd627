// The presenter view (#/polls/{id}/present): opened from "Present", live
// without reloading, the QR code and short link to vote, the owner's "Close
// poll", full screen on "f", and legible at projector sizes, light and dark.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  api,
  createPollViaApi,
  screenshotDir,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

/** A context holding `poll`'s manage token, as the creator's browser. */
async function ownerContext(suite, poll, options = {}) {
  const ctx = await suite.context(options);
  await ctx.addInitScript(
    ([id, token]) => {
      if (window.location.protocol === 'http:') localStorage.setItem(`polling:manage:${id}`, token);
    },
    [poll.id, poll.manage_token],
  );
  return ctx;
}

describe('presenter view', () => {
  const suite = browserSuite();

  test('"Present" on the poll page opens the big-screen view, which shows the QR code and follows votes without reloading', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Which talk next?', options: ['Rust', 'Go', 'Zig'] });
    await voteViaApi(suite.server, poll.id, [0]);
    const page = await (await ownerContext(suite, poll)).newPage();
    await page.goto(`/#/polls/${poll.id}`);
    await page.getByRole('link', { name: 'Present', exact: true }).click();
    await page.waitForURL(new RegExp(`#/polls/${poll.id}/present$`));
    assert.equal(await page.locator('h1').textContent(), 'Which talk next?');
    await waitForConnection(page, 'live');
    await waitForText(page.locator('[data-testid="total"]'), '1 vote in total');

    const qr = page.locator('[data-testid="qr-code"]');
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid="qr-code"]');
      return img && img.complete && img.naturalWidth > 0;
    });
    assert.equal(await qr.getAttribute('src'), `/api/polls/${poll.id}/qr.svg`);
    const link = page.locator('[data-testid="short-link"] a');
    assert.equal(await link.getAttribute('href'), `${suite.server.url}/p/${poll.id}`);
    assert.equal(await link.textContent(), `127.0.0.1:${suite.server.port}/p/${poll.id}`);
    // The site's header and footer give way to the poll.
    assert.equal(await page.locator('.site-header').isVisible(), false);

    await page.evaluate(() => {
      window.notReloaded = true;
    });
    await voteViaApi(suite.server, poll.id, [2]);
    await voteViaApi(suite.server, poll.id, [2]);
    await waitForText(page.locator('[data-testid="total"]'), '3 votes in total');
    const row = (text) => page.locator('.result', { hasText: text });
    await waitForText(row('Zig'), '(2 votes)');
    await waitForText(row('Zig'), '67%');
    await waitForText(row('Rust'), '33%');
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the presenter view did not reload');

    // The figures sit in fixed-width tabular columns: a count changing does
    // not move the bar or the text.
    const before = await row('Go').locator('.bar').boundingBox();
    const style = await row('Go').locator('.result-figures').evaluate((el) => getComputedStyle(el).fontVariantNumeric);
    assert.match(style, /tabular-nums/);
    await voteViaApi(suite.server, poll.id, [1]);
    await waitForText(row('Go'), '(1 vote)');
    assert.deepEqual(await row('Go').locator('.bar').boundingBox(), before);
  });

  test('the dashboard links to the presenter view', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Stand-up time?', options: ['9:00', '9:30'] });
    const page = await (await suite.context()).newPage();
    await page.goto(`/#/polls/${poll.id}/live`);
    await page.getByRole('link', { name: 'Present', exact: true }).click();
    await page.waitForURL(new RegExp(`#/polls/${poll.id}/present$`));
    await waitForConnection(page, 'live');
    await waitForText(page.locator('[data-testid="total"]'), 'No votes yet');
    // A voter's browser has no manage token: no "Close poll".
    assert.equal(await page.getByRole('button', { name: 'Close poll' }).count(), 0);
  });

  test('the owner closes the poll from the presenter view, by keyboard; "f" toggles full screen', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Pizza or sushi?', options: ['Pizza', 'Sushi'] });
    const page = await (await ownerContext(suite, poll)).newPage();
    await page.goto(`/#/polls/${poll.id}/present`);
    await waitForConnection(page, 'live');
    await waitForText(page.locator('[data-testid="presenter-status"]'), 'Voting is open');

    await page.keyboard.press('f');
    await page.waitForFunction(() => document.fullscreenElement === document.documentElement);
    assert.equal(await page.locator('.presenter-fullscreen').getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.fullscreenElement === null);

    const close = page.getByRole('button', { name: 'Close poll' });
    await close.focus();
    await page.keyboard.press('Enter');
    await waitForText(page.locator('[data-testid="presenter-status"]'), 'Voting is closed');
    await waitForText(page.locator('.notice-success'), 'Voting is closed.');
    assert.equal(await page.getByRole('button', { name: 'Poll closed' }).isDisabled(), true);
    const { body } = await api(suite.server, 'GET', `/api/polls/${poll.id}`);
    assert.equal(body.status, 'closed');
  });

  test('results hidden by the poll\'s visibility are hidden on the presenter view too, with the dashboard\'s message', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Secret ballot?',
      options: ['Yes', 'No'],
      visibility: 'after_close',
    });
    await voteViaApi(suite.server, poll.id, [0]);
    const page = await (await suite.context()).newPage();
    await page.goto(`/#/polls/${poll.id}/present`);
    const hidden = page.locator('[data-testid="results-hidden"]');
    await waitForText(hidden, 'The results are hidden until the poll closes.');
    assert.equal(await page.locator('.result-list').isVisible(), false);

    // The owner sees the counts whatever the visibility.
    const owner = await (await ownerContext(suite, poll)).newPage();
    await owner.goto(`/#/polls/${poll.id}/present`);
    await waitForText(owner.locator('[data-testid="total"]'), '1 vote in total');
  });

  for (const { width, height } of [
    { width: 1920, height: 1080 },
    { width: 1280, height: 720 },
  ]) {
    for (const scheme of ['light', 'dark']) {
      test(`the presenter view fits ${width}×${height}, ${scheme}, without motion when reduced`, { timeout: TEST_TIMEOUT }, async () => {
        const poll = await createPollViaApi(suite.server, {
          question: 'Which city should host the next community meetup?',
          options: ['Lisbon', 'Tallinn', 'Kraków', 'Valencia'],
        });
        for (const choice of [0, 0, 1, 2, 0, 3, 1]) await voteViaApi(suite.server, poll.id, [choice]);
        const ctx = await ownerContext(suite, poll, {
          viewport: { width, height },
          colorScheme: scheme,
          reducedMotion: 'reduce',
        });
        const page = await ctx.newPage();
        await page.goto(`/#/polls/${poll.id}/present`);
        await waitForConnection(page, 'live');
        await waitForText(page.locator('[data-testid="total"]'), '7 votes in total');
        await page.waitForFunction(() => document.querySelector('[data-testid="qr-code"]')?.naturalWidth > 0);

        const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        assert.ok(fits, `scrolls sideways at ${width} px`);
        // Everything that matters is on one screen, without scrolling.
        for (const selector of ['h1', '.result-list', '[data-testid="qr-code"]', '[data-testid="short-link"]']) {
          const box = await page.locator(selector).boundingBox();
          assert.ok(box && box.y + box.height <= height, `${selector} below the fold at ${width}×${height}`);
        }
        // Legible across a room: the question and the options grow with the
        // screen.
        const questionPx = await page.locator('h1').evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize));
        const optionPx = await page
          .locator('.result-text')
          .first()
          .evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize));
        assert.ok(questionPx >= width * 0.035, `question at ${questionPx} px`);
        assert.ok(optionPx >= width * 0.015, `options at ${optionPx} px`);

        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const [r, g, b] = background.match(/\d+/g).map(Number);
        assert.equal(r + g + b < 3 * 96, scheme === 'dark', `background ${background} in ${scheme}`);
        const transition = await page.locator('.bar-fill').first().evaluate((el) => getComputedStyle(el).transitionDuration);
        assert.match(transition, /^0s(, 0s)*$/);

        const file = path.join(screenshotDir(), `presenter-${width}x${height}-${scheme}.png`);
        await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
        assert.ok(statSync(file).size > 0, `${file} is empty`);
      });
    }
  }

  for (const method of ['ranked', 'star']) {
    test(`the presenter view shows a ${method} poll's winner and how it was reached, at 1280×720`, { timeout: TEST_TIMEOUT }, async () => {
      const poll = await createPollViaApi(suite.server, {
        question: 'Which framework for the new site?',
        options: ['Astro', 'Svelte', 'Plain HTML'],
        method,
      });
      const [a, b, c] = poll.options.map((option) => option.id);
      const ballots =
        method === 'ranked'
          ? [{ ranking: [a] }, { ranking: [a, b] }, { ranking: [b, c] }, { ranking: [c, b] }, { ranking: [b, a] }]
          : [{ scores: [5, 3, 0] }, { scores: [0, 4, 5] }, { scores: [2, 5, 0] }];
      for (const ballot of ballots) {
        const { status } = await api(suite.server, 'POST', `/api/polls/${poll.id}/votes`, { body: ballot });
        assert.equal(status, 201);
      }
      const page = await (await ownerContext(suite, poll, { viewport: { width: 1280, height: 720 } })).newPage();
      await page.goto(`/#/polls/${poll.id}/present`);
      await waitForConnection(page, 'live');
      await waitForText(page.locator('[data-testid="winner"]'), 'Winner so far: Svelte');
      if (method === 'ranked') {
        await waitForText(page.locator('.result', { hasText: 'Plain HTML' }), '(eliminated)');
        assert.equal(await page.locator('table.rounds tbody tr').count(), 4);
      } else {
        await waitForText(page.locator('.result', { hasText: 'Svelte' }), '(12 points)');
        await waitForText(page.locator('[data-testid="runoff"]'), '2 ballots prefer Svelte');
      }
      const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      assert.ok(fits, 'scrolls sideways');
      const file = path.join(screenshotDir(), `presenter-${method}-1280x720.png`);
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
      assert.ok(statSync(file).size > 0, `${file} is empty`);
    });
  }
});

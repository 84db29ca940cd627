// Screenshots of every page at phone and desktop widths, light and dark,
// under target/screenshots/ for people to look at. Each page must also fit
// its width (no sideways scrolling) and follow the colour scheme.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  browserSuite,
  TEST_TIMEOUT,
  createPollViaApi,
  screenshotDir,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';

const WIDTHS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
];
const SCHEMES = ['light', 'dark'];

describe('screenshots', () => {
  const suite = browserSuite();
  const context = (options) => suite.context(options);
  let poll;

  before(async () => {
    await createPollViaApi(suite.server, { question: 'Where should the team offsite be?', options: ['Lisbon', 'Tallinn'] });
    poll = await createPollViaApi(suite.server, {
      question: 'Which language should the next service be written in?',
      options: ['Rust', 'Go', 'TypeScript', 'Kotlin'],
      multiple: true,
      max_choices: 2,
    });
    for (const choices of [[0], [0, 1], [0], [2], [0, 3], [1]]) await voteViaApi(suite.server, poll.id, choices);
  });

  for (const { width, height } of WIDTHS) {
    for (const scheme of SCHEMES) {
      test(`every page at ${width} px, ${scheme}`, { timeout: TEST_TIMEOUT }, async () => {
        const ctx = await context({
          viewport: { width, height },
          colorScheme: scheme,
          reducedMotion: 'reduce',
        });
        // This browser created the poll: it holds the manage token.
        await ctx.addInitScript(
          ([id, token]) => {
            if (window.location.protocol === 'http:') localStorage.setItem(`polling:manage:${id}`, token);
          },
          [poll.id, poll.manage_token],
        );
        const page = await ctx.newPage();
        const dir = screenshotDir();

        const shoot = async (name) => {
          const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
          assert.ok(fits, `${name} at ${width} px scrolls sideways`);
          const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
          const [r, g, b] = background.match(/\d+/g).map(Number);
          const dark = r + g + b < 3 * 96;
          assert.equal(dark, scheme === 'dark', `${name} background ${background} in ${scheme}`);
          const file = path.join(dir, `${name}-${width}-${scheme}.png`);
          await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
          assert.ok(statSync(file).size > 0, `${file} is empty`);
        };

        await page.goto('/');
        await page.locator('.poll-item').nth(1).waitFor();
        await shoot('home');

        await page.goto(`/#/polls/${poll.id}`);
        await page.locator('.ballot').waitFor();
        await shoot('poll-vote');

        await page.getByLabel('Rust').check();
        await page.getByRole('button', { name: 'Vote' }).click();
        await waitForText(page.locator('.notice'), 'Thank you');
        await waitForConnection(page, 'live');
        await shoot('poll-results');

        await page.goto(`/#/polls/${poll.id}/live`);
        await waitForConnection(page, 'live');
        await page.locator('.results-live:not([data-version=""])').waitFor();
        await shoot('dashboard');

        await page.goto(`/#/polls/${poll.id}/manage`);
        await page.getByRole('button', { name: 'Close voting' }).waitFor();
        await waitForConnection(page, 'live');
        await shoot('manage');
      });
    }
  }
});

// Sharing and operating: the poll's QR code, the share link /p/{id} with its
// link-preview tags, the owner's downloads, and which replica served the app.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { api, browserSuite, createPollViaApi, ownerPage as ownerPageOf, TEST_TIMEOUT, voteViaApi, waitForText } from './helpers.mjs';

const INSTANCE = 'e2e-replica-1';

describe('sharing', () => {
  const suite = browserSuite({ env: { POLLING_INSTANCE: INSTANCE } });

  const ownerPage = (poll) => ownerPageOf(suite, poll);

  test('the poll page shows a QR code of the share link, and the footer names the replica', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: 'Scan me?', options: ['Yes', 'No'] });
    const page = await suite.page();
    await page.goto(`/#/polls/${poll.id}`);
    const qr = page.getByTestId('qr-code');
    await qr.waitFor();
    assert.equal(await qr.getAttribute('alt'), 'QR code of the link to this poll');
    assert.equal(await qr.getAttribute('src'), `/api/polls/${poll.id}/qr.svg`);
    await page.waitForFunction(
      () => {
        const img = document.querySelector('[data-testid="qr-code"]');
        return img && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: 10_000 },
    );
    const shared = await page.getByLabel('Link to this poll').inputValue();
    assert.equal(shared, `${suite.server.url}/p/${poll.id}`);

    const footer = page.locator('#served-by');
    await waitForText(footer, `served by ${INSTANCE}`);
    assert.equal(await footer.isVisible(), true);
  });

  test('the share link /p/{id} previews the question and opens the poll, ready to vote', { timeout: TEST_TIMEOUT }, async () => {
    const question = 'Tabs & "spaces" <b>or</b> both?';
    const poll = await createPollViaApi(suite.server, { question, options: ['Tabs', 'Spaces'] });
    const page = await suite.page();
    const response = await page.goto(`/p/${poll.id}`);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['x-served-by'], INSTANCE);
    assert.equal(await page.locator('meta[property="og:title"]').getAttribute('content'), question);
    assert.equal(await page.locator('meta[property="og:description"]').getAttribute('content'), 'Vote: Tabs · Spaces');
    assert.equal(
      await page.locator('meta[property="og:url"]').getAttribute('content'),
      `${suite.server.url}/p/${poll.id}`,
    );
    assert.equal(await page.locator('meta[name="twitter:card"]').getAttribute('content'), 'summary');

    await waitForText(page.locator('h1'), question);
    await page.getByLabel('Spaces').check();
    await page.getByRole('button', { name: 'Vote' }).click();
    await waitForText(page.locator('.notice'), 'Thank you, your vote is counted.');
    const { body } = await api(suite.server, 'GET', `/api/polls/${poll.id}/results`);
    assert.equal(body.counts[1].votes, 1);

    // The site's links still lead around the app from the share page.
    await page.getByRole('link', { name: 'Polls', exact: true }).click();
    await page.getByLabel('Question').waitFor();

    const missing = await suite.page();
    const notFound = await missing.goto('/p/0190a0b0-0000-7000-8000-000000000000');
    assert.equal(notFound.status(), 404);
    await waitForText(missing.locator('h1'), /not found|does not exist/i);
  });

  test('the owner downloads the results and the anonymous ballots as files matching the results', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, {
      question: 'Export?',
      options: ['Yes, obviously', '=1+1', 'No "thanks"'],
    });
    await voteViaApi(suite.server, poll.id, [0]);
    await voteViaApi(suite.server, poll.id, [1]);
    await voteViaApi(suite.server, poll.id, [0]);
    const page = await ownerPage(poll);
    await page.goto(`/#/polls/${poll.id}/manage`);

    const download = async (name) => {
      const [file] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name }).click(),
      ]);
      return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
    };
    const results = await download('Results (CSV)');
    assert.equal(results.name, `poll-${poll.id}-results.csv`);
    assert.equal(
      results.text,
      // Every field quoted, formulas neutralised (polling-server/src/csv.rs).
      '"option_id","option","votes"\r\n"0","Yes, obviously","2"\r\n"1","\'=1+1","1"\r\n"2","No ""thanks""","0"\r\n',
    );

    const json = await download('Results (JSON)');
    assert.equal(json.name, `poll-${poll.id}-results.json`);
    const exported = JSON.parse(json.text);
    assert.deepEqual(
      exported.counts.map((c) => [c.option, c.votes]),
      [['Yes, obviously', 2], ['=1+1', 1], ['No "thanks"', 0]],
    );

    const ballots = await download('Anonymous ballots (CSV)');
    const rows = ballots.text.trimEnd().split('\r\n');
    assert.equal(rows[0], '"cast_minute","option_ids","options"');
    assert.equal(rows.length, 4, ballots.text);
    for (const row of rows.slice(1)) assert.match(row, /^"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z","[01]",/);
    assert.deepEqual(
      rows.slice(1).map((row) => row.split(',')[1].replaceAll('"', '')).sort(),
      ['0', '0', '1'],
    );
  });
});

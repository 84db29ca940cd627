// Languages in the browser: Chromium speaking German (navigator.languages
// and Accept-Language set for the context) and French (the browser started
// with --accept-lang) shows the home page, a poll before and after voting,
// the live dashboard, the presenter view and the manage page with no English
// left, `<html lang>` right, and dates, numbers and percentages as the
// language writes them; the switcher changes the language and the choice
// survives a reload.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  axeViolations,
  browserSuite,
  TEST_TIMEOUT,
  createPollViaApi,
  launchBrowser,
  openContext,
  voteViaApi,
  waitForConnection,
  waitForText,
} from './helpers.mjs';
import { repoRoot } from './server.mjs';

const catalogue = async (code) =>
  (await import(pathToFileURL(path.join(repoRoot, 'frontend', 'js', 'i18n', `${code}.js`)).href)).default;

/** The texts of a catalogue entry (each plural form). */
const texts = (entry) => (typeof entry === 'string' ? [entry] : Object.values(entry));

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A pattern for `text` as a whole phrase: not inside a longer word. */
const phrase = (text) => new RegExp(`(?<![\\p{L}\\p{N}])${escape(text)}(?![\\p{L}\\p{N}])`, 'u');

/**
 * The English a page in language `code` must not show: every piece of an
 * English message between its placeholders (three letters or more), unless
 * the language writes it the same way somewhere in its own catalogue
 * ("Option", "Live", "API").
 */
async function englishPieces(code) {
  const en = await catalogue('en');
  const own = Object.values(await catalogue(code)).flatMap(texts);
  const pieces = new Set();
  for (const entry of Object.values(en)) {
    for (const text of texts(entry)) {
      for (const piece of text.split(/\{\w+\}/)) {
        const trimmed = piece.trim().replace(/^[.,:;·]+|[.,:;]+$/g, '').trim();
        if ((trimmed.match(/\p{L}/gu) || []).length < 3) continue;
        if (own.some((mine) => phrase(trimmed).test(mine))) continue;
        pieces.add(trimmed);
      }
    }
  }
  return [...pieces];
}

/** Everything a person can read or hear on the page: its text, the labels,
 * alternative texts, titles and placeholders, and the document title. */
function readable(page) {
  return page.evaluate(() => {
    const parts = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll('[aria-label], [alt], [title], [placeholder]')) {
      for (const name of ['aria-label', 'alt', 'title', 'placeholder']) {
        if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
      }
    }
    return parts.join('\n');
  });
}

/** Fails if the page shows any piece of English, if its `lang` is not
 * `code`, or if its longer words make it scroll sideways. */
async function assertSpeaks(page, code, pieces, where) {
  assert.equal(await page.evaluate(() => document.documentElement.lang), code, `${where}: <html lang>`);
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(fits, `${where} in ${code} scrolls sideways`);
  const text = await readable(page);
  const left = pieces.filter((piece) => phrase(piece).test(text));
  assert.deepEqual(left, [], `${where} in ${code} still shows English:\n${text}`);
}

const QUESTION = 'Pizza, pasta, sushi?';
const OPTIONS = ['Pizza', 'Pasta', 'Sushi'];

/** The expected strings of a language, computed as the app does. */
const formatted = (locale) => ({
  percent: (pct) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(pct / 100),
  date: (iso) => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
});

describe('languages', () => {
  const suite = browserSuite({ env: { POLLING_INSTANCE: 'pollbox-1' } });
  let french = null;
  after(async () => {
    await french?.close();
  });

  /** Walks every page in language `code` in `ctx` (which holds no manage
   * token until the manage page): home, the poll (ballot, then results),
   * dashboard, presenter, manage. */
  const walk = async (ctx, code, locale, expected) => {
    const pieces = await englishPieces(code);
    const poll = await createPollViaApi(suite.server, {
      question: QUESTION,
      options: OPTIONS,
      allow_vote_change: true,
      closes_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    for (const choices of [[0], [0], [1]]) await voteViaApi(suite.server, poll.id, choices);
    await ctx.addInitScript(
      ([id, token]) => {
        if (window.location.protocol === 'http:') localStorage.setItem(`polling:manage:${id}`, token);
      },
      [poll.id, poll.manage_token],
    );
    const page = await ctx.newPage();
    const f = formatted(locale);

    await page.goto('/');
    await page.locator(`.poll-item[data-poll-id="${poll.id}"]`).waitFor();
    await page.locator('#served-by:not([hidden])').waitFor();
    await assertSpeaks(page, code, pieces, 'home');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), expected.home);
    const meta = await page.locator(`.poll-item[data-poll-id="${poll.id}"] .poll-meta`).textContent();
    assert.ok(meta.includes(f.date(poll.created_at)), `the list dates "${meta}" as ${locale} does`);
    assert.deepEqual(await axeViolations(page), [], `axe on the home page in ${code}`);

    await page.goto(`/#/polls/${poll.id}`);
    await page.locator('.ballot-form').waitFor();
    await assertSpeaks(page, code, pieces, 'poll ballot');
    const times = await page.locator('.facts time').allTextContents();
    assert.deepEqual(times, [f.date(poll.closes_at), f.date(poll.created_at)], 'dates in the facts');
    await page.getByLabel('Sushi').check();
    await page.getByRole('button', { name: expected.vote, exact: true }).click();
    await page.locator('.notice-success').waitFor();
    await waitForConnection(page, 'live');
    await page.locator('.results-live[data-version="4"]').waitFor();
    await assertSpeaks(page, code, pieces, 'poll results');
    assert.equal(await page.locator('.result', { hasText: 'Pizza' }).locator('.result-pct').textContent(), f.percent(50));
    assert.equal(await page.locator('[data-testid="total"]').textContent(), expected.total4);

    await page.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(page, 'live');
    await page.locator('.results-live[data-version="4"]').waitFor();
    await assertSpeaks(page, code, pieces, 'dashboard');

    await page.goto(`/#/polls/${poll.id}/present`);
    await waitForConnection(page, 'live');
    await page.locator('.results-live[data-version="4"]').waitFor();
    await assertSpeaks(page, code, pieces, 'presenter');

    await page.goto(`/#/polls/${poll.id}/manage`);
    await waitForConnection(page, 'live');
    await page.locator('.manage-actions .danger').click();
    await page.locator('.confirm').waitFor();
    await assertSpeaks(page, code, pieces, 'manage');
    return page;
  };

  test('Chromium speaking German (de-DE) shows every page in German, on a phone', { timeout: TEST_TIMEOUT }, async () => {
    const ctx = await suite.context({ locale: 'de-DE', viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await page.goto('/');
    assert.deepEqual(await page.evaluate(() => navigator.languages), ['de-DE']);
    await page.close();
    await walk(ctx, 'de', 'de-DE', { home: 'Umfragen', vote: 'Abstimmen', total4: '4 Stimmen insgesamt' });
  });

  test('Chromium started with --accept-lang=fr-FR shows every page in French', { timeout: TEST_TIMEOUT }, async () => {
    french = await launchBrowser(['--accept-lang=fr-FR,fr']);
    // The browser's own languages: no override in the context.
    const ctx = await openContext(french, suite.server, { locale: undefined });
    try {
      const page = await ctx.newPage();
      await page.goto('/');
      assert.equal(await page.evaluate(() => navigator.languages[0]), 'fr-FR');
      await page.close();
      await walk(ctx, 'fr', 'fr-FR', { home: 'Sondages', vote: 'Voter', total4: '4 votes au total' });
    } finally {
      await ctx.close();
    }
    ctx.assertClean();
  });

  test('the switcher changes the language of the page at once, and the choice survives a reload', { timeout: TEST_TIMEOUT }, async () => {
    const poll = await createPollViaApi(suite.server, { question: QUESTION, options: OPTIONS });
    await voteViaApi(suite.server, poll.id, [2]);
    const page = await (await suite.context()).newPage();
    const total = (text) => waitForText(page.locator('[data-testid="total"]'), text);
    await page.goto('/');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    const switcher = page.getByLabel('Language');
    assert.equal(await switcher.isVisible(), true);
    assert.deepEqual(await switcher.locator('option').allTextContents(), ['English', 'Deutsch', 'Français']);
    assert.deepEqual(await switcher.locator('option').evaluateAll((options) => options.map((o) => o.lang)), ['en', 'de', 'fr']);

    await switcher.selectOption('de');
    await page.getByRole('heading', { level: 1, name: 'Umfragen' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
    assert.equal(await page.getByRole('link', { name: 'Neue Umfrage' }).isVisible(), true);
    assert.equal(await page.getByRole('link', { name: 'Zum Inhalt springen' }).count(), 1);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Umfragen' }).waitFor();
    assert.equal(await page.getByLabel('Sprache').inputValue(), 'de');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');

    // On a live page: it is rendered again in French, its feed still live.
    await page.goto(`/#/polls/${poll.id}/live`);
    await waitForConnection(page, 'live');
    await total('1 Stimme insgesamt');
    await page.getByLabel('Sprache').selectOption('fr');
    await total('1 vote au total');
    await waitForConnection(page, 'live');
    assert.equal(await page.getByRole('heading', { level: 2, name: 'Résultats en direct' }).count(), 1);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
    assert.equal(await page.evaluate(() => localStorage.getItem('polling:language')), 'fr');
    await voteViaApi(suite.server, poll.id, [0]);
    await total('2 votes au total');
    await page.reload();
    await total('2 votes au total');
    assert.equal(await page.getByLabel('Langue').inputValue(), 'fr');

    // And back to English.
    await page.getByLabel('Langue').selectOption('en');
    await total('2 votes in total');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  });
});

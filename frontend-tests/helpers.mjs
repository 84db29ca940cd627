// Shared pieces of the browser tests: Debian's Chromium through
// playwright-core, contexts that record what must never happen (script
// dialogs, CSP violations, uncaught errors), polling waits, and API calls
// made from Node.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { chromium } from 'playwright-core';
import { createDatabase, freePort, repoRoot, Server } from './server.mjs';

/** Per-test time limit: the browser waits are far shorter; this only stops
 * a stuck test from hanging the run. */
export const TEST_TIMEOUT = 60_000;

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless Chromium, as CI runs it; `args`: more command-line flags
 * (`--accept-lang=fr-FR,fr` sets the browser's languages). */
export function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...args],
  });
}

/** Where screenshots go: target/screenshots/ at the repository's root
 * (ignored by git), whatever $CARGO_TARGET_DIR says. */
export function screenshotDir() {
  const dir = path.join(repoRoot, 'target', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A browser context on `server` that records, on every page it opens,
 * script dialogs (alert/confirm/prompt: dismissed), Content-Security-Policy
 * violations (console reports and `securitypolicyviolation` events) and
 * uncaught page errors. `assertClean()` fails if any happened. Its browser
 * speaks American English (navigator.languages and Accept-Language) unless
 * `options.locale` says otherwise, whatever the machine's locale.
 */
export async function openContext(browser, server, options = {}) {
  const context = await browser.newContext({
    baseURL: server.url,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    ...options,
  });
  const problems = { dialogs: [], csp: [], errors: [] };
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(
        `Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`,
      );
    });
  });
  const watch = (page) => {
    page.on('dialog', (dialog) => {
      problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    page.on('console', (message) => {
      if (/content security policy/i.test(message.text())) problems.csp.push(message.text());
    });
    page.on('pageerror', (error) => problems.errors.push(String(error)));
  };
  context.on('page', watch);
  context.problems = problems;
  context.assertClean = () => {
    assert.deepEqual(problems.dialogs, [], 'no script dialog may open');
    assert.deepEqual(problems.csp, [], 'no Content-Security-Policy violation');
    assert.deepEqual(problems.errors, [], 'no uncaught error in the page');
  };
  return context;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (sync or async) until it returns a truthy value. */
export async function eventually(check, { timeout = 10_000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(interval);
  }
}

/** Waits until `locator`'s text contains `text` (string or RegExp). */
export async function waitForText(locator, text, timeout = 10_000) {
  await locator.filter({ hasText: text }).first().waitFor({ timeout });
}

/** Presses Tab until `locator` has the focus (at most `max` times). */
export async function tabTo(page, locator, { max = 40, key = 'Tab' } = {}) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press(key);
    if (await locator.evaluate((el) => el === document.activeElement).catch(() => false)) return;
  }
  const active = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(`${max} × ${key} never reached ${locator}; focus is on ${active}`);
}

/** Whether the focused element shows a focus outline. */
export function focusIsVisible(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return false;
    const style = getComputedStyle(el);
    return style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0;
  });
}

/** Calls the API from Node (no cookie: each call is a new voter). */
export async function api(server, method, route, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Creates a poll through the API: the created poll (with manage_token). */
export async function createPollViaApi(server, draft) {
  const { status, body } = await api(server, 'POST', '/api/polls', { body: draft });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

/** Casts a ballot through the API as a fresh voter. */
export async function voteViaApi(server, pollId, choices) {
  const { status, body } = await api(server, 'POST', `/api/polls/${pollId}/votes`, { body: { choices } });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

/** Records every value the connection badge's data-state takes, from now
 * on, into window.__connectionStates. */
export async function recordConnectionStates(page) {
  await page.locator('[data-testid="connection"]').waitFor();
  await page.evaluate(() => {
    const badge = document.querySelector('[data-testid="connection"]');
    window.__connectionStates = [badge.dataset.state];
    new MutationObserver(() => {
      const states = window.__connectionStates;
      if (states[states.length - 1] !== badge.dataset.state) states.push(badge.dataset.state);
    }).observe(badge, { attributes: true, attributeFilter: ['data-state'] });
  });
}

/** Waits until the connection badge shows `state`. */
export function waitForConnection(page, state, timeout = 15_000) {
  return page.locator(`[data-testid="connection"][data-state="${state}"]`).waitFor({ timeout });
}

/** Fills the create form `page` shows with `question` and `options`,
 * adding an option field for each option past the form's first two. */
export async function fillCreateForm(page, question, options) {
  await page.getByLabel('Question').fill(question);
  for (const [index, option] of options.entries()) {
    if (index >= 2) await page.getByRole('button', { name: 'Add option' }).click();
    await page.getByLabel(`Option ${index + 1}`, { exact: true }).fill(option);
  }
}

/** Submits the create form `page` shows and waits for the new poll's page;
 * returns the poll's id. */
export async function submitCreateForm(page) {
  await page.getByRole('button', { name: 'Create poll' }).click();
  await page.waitForURL(/#\/polls\/[^/]+$/);
  return pollIdFromUrl(page.url());
}

/** The poll id in the page's URL (#/polls/{id}...). */
export function pollIdFromUrl(url) {
  const match = /#\/polls\/([^/?#]+)/.exec(url);
  assert.ok(match, `no poll id in ${url}`);
  return decodeURIComponent(match[1]);
}

/**
 * Registers the hooks of a test file: one server (on PostgreSQL with
 * `database: true`, a fresh database dropped afterwards; `env`: more
 * environment for it, such as POLLING_INSTANCE) and one browser for
 * the file; `suite.context(options)` opens a watched context, closed after
 * its test, which then fails if the context saw a dialog, a CSP violation
 * or a page error. Everything started is stopped even when a test fails.
 */
export function browserSuite({ database = false, env = {} } = {}) {
  const suite = { server: null, browser: null, database: null };
  let open = [];

  before(
    async () => {
      if (database) suite.database = await createDatabase();
      suite.server = new Server({ port: await freePort(), databaseUrl: suite.database?.url ?? null, env });
      await suite.server.start();
      suite.browser = await launchBrowser();
    },
    { timeout: TEST_TIMEOUT },
  );

  afterEach(
    async () => {
      const contexts = open;
      open = [];
      for (const context of contexts) await context.close().catch(() => {});
      for (const context of contexts) context.assertClean();
    },
    { timeout: TEST_TIMEOUT },
  );

  after(
    async () => {
      try {
        await suite.browser?.close();
      } finally {
        try {
          await suite.server?.stop();
        } finally {
          await suite.database?.drop();
        }
      }
    },
    { timeout: TEST_TIMEOUT },
  );

  suite.context = async (options = {}) => {
    const context = await openContext(suite.browser, suite.server, options);
    open.push(context);
    return context;
  };
  suite.page = async (options = {}) => (await suite.context(options)).newPage();
  return suite;
}

/** A page of `suite` whose browser holds the manage token of `poll` (as
 * the creating browser does); `options` for its context. */
export async function ownerPage(suite, poll, options = {}) {
  const context = await suite.context(options);
  await context.addInitScript(
    ([id, token]) => {
      // Documents without storage (about:blank) are skipped.
      try {
        window.localStorage.setItem(`polling:manage:${id}`, token);
      } catch {
        // Not the app's document.
      }
    },
    [poll.id, poll.manage_token],
  );
  return context.newPage();
}

/** The WCAG 2.1 A and AA rules of axe-core: what the app must pass. */
export const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let axeSource = null;

/**
 * Runs axe-core (frontend-tests/node_modules, pinned in package.json) on
 * `page` as it is now, with the WCAG 2.1 AA rules: the violations, each as
 * one readable line per element ("rule (impact): help — target: summary").
 * axe is evaluated in the page through the DevTools protocol, which the
 * page's Content-Security-Policy does not govern (a <script> tag would be
 * refused, and reported as a violation).
 */
export async function axeViolations(page, { tags = WCAG_21_AA } = {}) {
  if (axeSource === null) {
    const require = createRequire(import.meta.url);
    axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async (values) => {
    const results = await window.axe.run(document, { runOnly: { type: 'tag', values }, resultTypes: ['violations'] });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => ({ target: node.target.join(' '), summary: node.failureSummary })),
    }));
  }, tags);
  const lines = [];
  for (const violation of violations) {
    for (const node of violation.nodes) {
      lines.push(`${violation.id} (${violation.impact}): ${violation.help} — ${node.target}: ${String(node.summary).replace(/\s+/g, ' ')}`);
    }
  }
  return lines;
}

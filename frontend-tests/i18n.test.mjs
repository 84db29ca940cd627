// The message catalogues (frontend/js/i18n/*.js), without a browser: every
// catalogue has exactly English's keys, each entry keeps English's
// placeholders and is well formed (a string, or plural forms with `other`),
// every key the code uses (t('…'), tx('…'), data-i18n="…" in index.html)
// exists, and every English key is used. Also the choice of language from
// the browser's languages, and the app's plural rules and number formats.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './server.mjs';

const frontend = path.join(repoRoot, 'frontend');
const catalogueDir = path.join(frontend, 'js', 'i18n');

/** Imports a browser module from frontend/js. */
const load = async (...parts) => (await import(pathToFileURL(path.join(frontend, 'js', ...parts)).href)).default;

/** Every catalogue file, by language code. */
async function catalogues() {
  const found = {};
  for (const file of readdirSync(catalogueDir).filter((name) => name.endsWith('.js')).sort()) {
    found[path.basename(file, '.js')] = await load('i18n', file);
  }
  return found;
}

/** The placeholders of an entry: `{name}` in any of its forms. */
function placeholders(entry) {
  const texts = typeof entry === 'string' ? [entry] : Object.values(entry);
  const names = new Set();
  for (const text of texts) for (const match of String(text).matchAll(/\{(\w+)\}/g)) names.add(match[1]);
  return names;
}

/** The JavaScript files of the app, recursively. */
function sources(dir = path.join(frontend, 'js')) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== catalogueDir) files.push(...sources(full));
    } else if (entry.name.endsWith('.js')) files.push(full);
  }
  return files;
}

/** Every key the code uses, with where: t('key') and tx('key') in the
 * modules, data-i18n="key" and data-i18n-aria-label="key" in index.html. */
function usedKeys() {
  const used = new Map();
  const note = (key, where) => used.set(key, [...(used.get(key) || []), where]);
  for (const file of sources()) {
    // Without comment lines, which may mention t(key) in prose.
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
      .join('\n');
    for (const match of text.matchAll(/\btx?\(\s*(['"`])([^'"`]*)\1/g)) note(match[2], path.relative(repoRoot, file));
    // A key built from pieces cannot be checked: none may be.
    // (i18n.js defines t and tx; main.js translates index.html, whose keys
    // are read below.)
    for (const line of text.split('\n')) {
      if (/^\s*(export )?function tx?\(/.test(line) || /data-i18n|keys: index\.html/.test(line)) continue;
      for (const match of line.matchAll(/\btx?\(\s*(?!['"`])([^)\s,]+)/g)) note(`<not a literal: ${match[1]}>`, path.relative(repoRoot, file));
    }
    for (const match of text.matchAll(/\btx?\(\s*`[^`]*\$\{/g)) note(`<template key: ${match[0]}>`, path.relative(repoRoot, file));
  }
  const html = readFileSync(path.join(frontend, 'index.html'), 'utf8');
  for (const match of html.matchAll(/data-i18n(?:-aria-label)?="([^"]+)"/g)) note(match[1], 'frontend/index.html');
  return used;
}

describe('message catalogues', () => {
  test('English, German and French are there, and no other language is half there', async () => {
    const all = await catalogues();
    assert.deepEqual(Object.keys(all).sort(), ['de', 'en', 'fr']);
    const { CATALOGUES, LANGUAGES } = await import(pathToFileURL(path.join(frontend, 'js', 'i18n.js')).href);
    assert.deepEqual(Object.keys(CATALOGUES).sort(), Object.keys(all).sort(), 'i18n.js loads every catalogue');
    assert.deepEqual(LANGUAGES.map((l) => l.code).sort(), Object.keys(all).sort(), 'the switcher offers every catalogue');
  });

  test('every catalogue has exactly the keys of English: none missing, none extra', async () => {
    const all = await catalogues();
    const english = Object.keys(all.en);
    assert.ok(english.length > 100, `English has ${english.length} keys`);
    for (const [code, catalogue] of Object.entries(all)) {
      const keys = new Set(Object.keys(catalogue));
      const missing = english.filter((key) => !keys.has(key));
      const extra = [...keys].filter((key) => !(key in all.en));
      assert.deepEqual(missing, [], `${code}.js lacks keys that en.js has`);
      assert.deepEqual(extra, [], `${code}.js has keys that en.js has not`);
    }
  });

  test('every entry is text or plural forms with "other", and keeps the placeholders of English', async () => {
    const all = await catalogues();
    const categories = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);
    for (const [code, catalogue] of Object.entries(all)) {
      for (const [key, entry] of Object.entries(catalogue)) {
        const where = `${code}.js ${key}`;
        if (typeof entry === 'string') {
          assert.ok(entry.trim().length > 0, `${where} is empty`);
        } else {
          assert.equal(typeof entry, 'object', `${where} is text or plural forms`);
          assert.equal(typeof entry.other, 'string', `${where} has an "other" form`);
          for (const [form, text] of Object.entries(entry)) {
            assert.ok(categories.has(form), `${where} has a plural form "${form}" that Intl.PluralRules never picks`);
            assert.ok(typeof text === 'string' && text.trim().length > 0, `${where}.${form} is empty`);
          }
          assert.ok(placeholders(entry.other).has('count') || placeholders(all.en[key]).has('count'), `${where}: plural forms need {count}`);
        }
        if (code === 'en') continue;
        const want = [...placeholders(all.en[key])].sort();
        // The "other" form says everything; a singular may leave {count} out
        // ("eine Stimme").
        const form = typeof entry === 'string' ? entry : entry.other;
        assert.deepEqual([...placeholders(form)].sort(), want, `${where} has the placeholders of English`);
      }
    }
  });

  test('translations are translated: a German or French entry equal to English is a known loan word', async () => {
    const all = await catalogues();
    // What each language writes as English does: names, loan words, and
    // words the languages share.
    const same = {
      de: ['API', 'STAR', 'Option', 'Option {number}', 'Live', 'Live: {question}', 'Offline', 'Export', '{total}. {leader}'],
      fr: ['API', 'STAR', 'Site', 'Question', 'Option', 'Options', 'Option {number}', '{count} options', '({count} votes)', '({count} points)', '{total}. {leader}'],
    };
    for (const code of ['de', 'fr']) {
      for (const [key, entry] of Object.entries(all[code])) {
        const english = all.en[key];
        const text = typeof entry === 'string' ? entry : entry.other;
        const englishText = typeof english === 'string' ? english : english.other;
        if (text === englishText) assert.ok(same[code].includes(text), `${code}.js ${key} is still English: ${JSON.stringify(text)}`);
      }
    }
  });

  test('every key the code uses is in the catalogues, and every English key is used', async () => {
    const all = await catalogues();
    const used = usedKeys();
    assert.ok(used.size > 100, `found ${used.size} keys in the code`);
    const unknown = [...used].filter(([key]) => !(key in all.en)).map(([key, where]) => `${key} (${[...new Set(where)].join(', ')})`);
    assert.deepEqual(unknown, [], 'keys used in the code but missing from the catalogues');
    const unused = Object.keys(all.en).filter((key) => !used.has(key));
    assert.deepEqual(unused, [], 'keys in the catalogues that no code uses');
  });
});

describe('language choice and formats', () => {
  test('the stored choice wins, then the first browser language the app speaks, then English', async () => {
    const { chooseLanguage } = await import(pathToFileURL(path.join(frontend, 'js', 'i18n.js')).href);
    assert.equal(chooseLanguage(null, ['de-DE', 'en-US']), 'de');
    assert.equal(chooseLanguage(null, ['fr-CA', 'de']), 'fr');
    assert.equal(chooseLanguage(null, ['es-ES', 'FR']), 'fr');
    assert.equal(chooseLanguage(null, ['es-ES', 'pt']), 'en');
    assert.equal(chooseLanguage(null, []), 'en');
    assert.equal(chooseLanguage('fr', ['de-DE']), 'fr');
    assert.equal(chooseLanguage('xx', ['de-DE']), 'de', 'an unknown stored value is ignored');
  });

  test('t() picks plural forms and formats numbers for the language', async () => {
    const i18n = await import(pathToFileURL(path.join(frontend, 'js', 'i18n.js')).href);
    // No window in Node: setLanguage cannot store the choice, and says so
    // by changing the language all the same.
    const saved = globalThis.window;
    globalThis.window = { localStorage: { setItem() {} } };
    try {
      i18n.setLanguage('en');
      assert.equal(i18n.t('results.total', { count: 1 }), '1 vote in total');
      assert.equal(i18n.t('results.total', { count: 1234 }), '1,234 votes in total');
      assert.equal(i18n.formatPercent(67), '67%');
      i18n.setLanguage('de');
      assert.equal(i18n.t('results.total', { count: 1 }), '1 Stimme insgesamt');
      assert.equal(i18n.t('results.total', { count: 1234 }), '1.234 Stimmen insgesamt');
      assert.match(i18n.formatPercent(67), /^67\s%$/);
      assert.equal(i18n.formatDecimal(4), '4,0');
      i18n.setLanguage('fr');
      assert.equal(i18n.t('results.total', { count: 0 }), '0 vote au total', 'French counts zero as singular');
      assert.equal(i18n.t('results.total', { count: 2 }), '2 votes au total');
      assert.match(i18n.t('results.total', { count: 1234 }), /^1\s234 votes au total$/);
      assert.equal(i18n.t('tally.winner', { option: 'Rust' }), 'Gagnant\u00a0: Rust');
      const parts = i18n.tx('facts.createdAt', { time: { node: true } });
      assert.deepEqual(parts, ['Créé le ', { node: true }]);
    } finally {
      i18n.setLanguage('en');
      globalThis.window = saved;
    }
  });
});

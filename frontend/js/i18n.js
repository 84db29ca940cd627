// The app's languages: every text a person reads comes from a message
// catalogue (i18n/en.js, de.js, fr.js) through `t(key, params)`, and every
// date, number and percentage through `Intl` in the chosen language.
//
// The language is the one chosen with the switcher (remembered in
// localStorage), else the first of the browser's languages (navigator.
// languages) that the app speaks, else English. `<html lang>` follows it.
//
// A catalogue entry is a string with `{name}` placeholders, or, where the
// words depend on a number, an object of plural forms (`one`, `other`, and
// any other category of Intl.PluralRules) chosen by the `count` parameter.
// Number parameters are formatted for the language. `tx(key, params)`
// returns the text as parts, so that a parameter may be a DOM node (a
// `<time>` element, say). Keys are always written out literally in the code
// (t('results.title'), never built from pieces), so that a test can check
// that every key used exists in every catalogue (frontend-tests/i18n.test.mjs).

import de from './i18n/de.js';
import en from './i18n/en.js';
import fr from './i18n/fr.js';

/** The languages the app speaks, each named in itself for the switcher. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
  { code: 'fr', name: 'Français' },
];

/** Every catalogue, by language code. English is complete by definition;
 * the others have exactly its keys. */
export const CATALOGUES = { en, de, fr };

const STORAGE_KEY = 'polling:language';

/** The language to use: `stored` (the switcher's choice) if the app speaks
 * it, else the first of `preferred` (BCP 47 tags, best first) whose
 * primary language it speaks, else English. */
export function chooseLanguage(stored, preferred) {
  if (stored && CATALOGUES[stored]) return stored;
  for (const tag of preferred || []) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (CATALOGUES[primary]) return primary;
  }
  return 'en';
}

/** The browser's languages, best first. */
function browserLanguages() {
  if (typeof navigator === 'undefined') return [];
  if (Array.isArray(navigator.languages) && navigator.languages.length > 0) return navigator.languages;
  return navigator.language ? [navigator.language] : [];
}

function storedLanguage() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** The locale for Intl: the browser's own tag for the chosen language
 * (de-CH stays Swiss), else the bare code. */
function localeFor(code) {
  return browserLanguages().find((tag) => String(tag).toLowerCase().split('-')[0] === code) || code;
}

let current = 'en';
let formats = null;

function formatsFor(tag) {
  return {
    plural: new Intl.PluralRules(tag),
    number: new Intl.NumberFormat(tag),
    percent: new Intl.NumberFormat(tag, { style: 'percent', maximumFractionDigits: 0 }),
    decimal: new Intl.NumberFormat(tag, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    date: new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' }),
    list: new Intl.ListFormat(tag, { style: 'long', type: 'conjunction' }),
  };
}

function use(code) {
  current = code;
  try {
    formats = formatsFor(localeFor(code));
  } catch {
    // A tag Intl refuses: the bare language code always works.
    formats = formatsFor(code);
  }
  if (typeof document !== 'undefined') document.documentElement.lang = code;
}

/** Picks the language at start-up (the stored choice, else the browser's)
 * and sets `<html lang>`. */
export function initLanguage() {
  use(chooseLanguage(storedLanguage(), browserLanguages()));
  return current;
}

/** Switches to `code` and remembers the choice; returns whether it changed. */
export function setLanguage(code) {
  if (!CATALOGUES[code]) return false;
  try {
    window.localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Not remembered: this page still switches.
  }
  const changed = code !== current;
  use(code);
  return changed;
}

/** The chosen language's code: en, de or fr. */
export function language() {
  return current;
}

/** The catalogue entry for `key`: the chosen language's, else English's,
 * else the key itself (never empty text on screen). */
function entry(key) {
  const own = CATALOGUES[current][key];
  if (own !== undefined) return own;
  return en[key] !== undefined ? en[key] : key;
}

/** The template of `key` for `params` (a plural form chosen by `count`). */
function template(key, params) {
  const found = entry(key);
  if (typeof found === 'string') return found;
  const count = Number(params.count);
  const category = Number.isFinite(count) ? formats.plural.select(count) : 'other';
  return found[category] ?? found.other;
}

function display(value) {
  return typeof value === 'number' ? formats.number.format(value) : value;
}

/** The text of `key` in the chosen language, `{name}` replaced by
 * `params.name` (numbers formatted for the language). */
export function t(key, params = {}) {
  return template(key, params).replace(/\{(\w+)\}/g, (whole, name) =>
    params[name] === undefined ? whole : String(display(params[name])),
  );
}

/** Like `t`, as an array of strings and nodes: a parameter may be a DOM
 * node, which takes its place in the text. */
export function tx(key, params = {}) {
  const parts = [];
  const text = template(key, params);
  let at = 0;
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    const value = params[match[1]];
    parts.push(value === undefined ? match[0] : display(value));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** A count, as the language writes numbers (1,234 · 1.234 · 1 234). */
export function formatNumber(value) {
  return formats.number.format(value);
}

/** A percentage from 0 to 100 (a whole number), as the language writes
 * it: 67% · 67 % · 67 %. */
export function formatPercent(pct) {
  return formats.percent.format(pct / 100);
}

/** A number with one decimal: 4.0 · 4,0. */
export function formatDecimal(value) {
  return formats.decimal.format(value);
}

/** Items joined as the language lists them: "A, B and C". */
export function formatList(items) {
  return formats.list.format(items);
}

/** A timestamp for people, in their language and time zone. */
export function formatDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return formats.date.format(date);
}

use('en');

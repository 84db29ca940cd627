// The app's entry: picks the language, routes each page into <main
// id="app">, and cleans up the page it leaves (live sockets, timers). The
// language switcher in the header renders the page again in the language
// chosen, and remembers it.

import { renderDashboard } from './dashboard.js';
import { renderHome } from './home.js';
import { initLanguage, LANGUAGES, language, setLanguage, t } from './i18n.js';
import { takeInviteFromUrl } from './invites.js';
import { renderManage } from './manage.js';
import { renderMissing } from './missing.js';
import { renderPoll } from './poll.js';
import { renderPresent } from './present.js';
import { startRouter } from './router.js';

const root = document.getElementById('app');
let cleanup = () => {};

function render(route, { flash, initial }) {
  cleanup();
  root.replaceChildren();
  window.scrollTo(0, 0);
  switch (route.page) {
    case 'home':
      cleanup = renderHome(root, { flash, focusCreate: route.focusCreate });
      break;
    case 'poll':
      cleanup = renderPoll(root, route.id, { flash });
      break;
    case 'live':
      cleanup = renderDashboard(root, route.id);
      break;
    case 'manage':
      cleanup = renderManage(root, route.id, { flash });
      break;
    case 'present':
      cleanup = renderPresent(root, route.id);
      break;
    default:
      cleanup = renderMissing(root);
  }
  // After navigating, move focus to the new page (its heading, once loaded)
  // so keyboard and screen-reader users start there; not on first load.
  if (!initial && !route.focusCreate) focusHeading();
}

function focusHeading() {
  const heading = root.querySelector('h1');
  if (heading) {
    heading.focus();
    return;
  }
  root.focus();
  const observer = new MutationObserver(() => {
    const h1 = root.querySelector('h1');
    if (h1) {
      observer.disconnect();
      if (document.activeElement === root || document.activeElement === document.body) h1.focus();
    }
  });
  observer.observe(root, { childList: true, subtree: true });
  window.setTimeout(() => observer.disconnect(), 10000);
}

// The skip link focuses the content without touching the hash (the hash is
// the route).
document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  const heading = root.querySelector('h1');
  (heading || root).focus();
});

/** The page's fixed text (index.html: `data-i18n` for the text,
 * `data-i18n-aria-label` for the label) in the chosen language. */
function translateStatic() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const labelled = document.querySelectorAll('[data-i18n-aria-label]');
  for (const el of labelled) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel)); // keys: index.html
  const servedBy = document.getElementById('served-by');
  if (servedBy && servedBy.dataset.instance) {
    servedBy.textContent = t('footer.servedBy', { instance: servedBy.dataset.instance });
  }
}

/** The switcher: each language named in itself (and marked as written in
 * it), the chosen one selected. */
function languageSwitch(onChange) {
  const select = document.getElementById('language-select');
  for (const { code, name } of LANGUAGES) {
    const option = document.createElement('option');
    option.value = code;
    option.lang = code;
    option.textContent = name;
    select.append(option);
  }
  select.value = language();
  select.addEventListener('change', () => {
    if (setLanguage(select.value)) onChange();
  });
  document.getElementById('language-switch').hidden = false;
}

initLanguage();
translateStatic();
// A vote link's code, before the first page reads the address.
takeInviteFromUrl();
const rerender = startRouter(render);
languageSwitch(() => {
  translateStatic();
  rerender();
});

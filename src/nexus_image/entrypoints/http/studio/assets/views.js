// Which view shows: the sign-in until signed in, then the one the address's hash names.
import { session } from './api.js';
import { emit, on } from './bus.js';
import { $ } from './dom.js';

export const VIEWS = ['generate', 'images', 'albums', 'gallery', 'integrations', 'account', 'operator'];
const TITLES = { signin: 'Sign in', generate: 'Generate', images: 'My images', albums: 'Albums', gallery: 'Gallery',
  integrations: 'Integrations', account: 'Account', operator: 'Operator' };
// Views offered to some callers only (the operators'): hidden, and their address leads to the
// default view, until offerView says otherwise.
const withheld = new Set(['operator']);
const offered = (name) => VIEWS.includes(name) && !withheld.has(name);

// Shows or hides a view's nav entry; when its address is the page's, it shows (or goes) at once.
export function offerView(name, offer) {
  if (offer === !withheld.has(name)) return;
  if (offer) withheld.delete(name);
  else withheld.add(name);
  const link = document.querySelector(`#nav a[data-view="${name}"]`);
  if (link) link.hidden = !offer;
  if (session.token && (location.hash === `#${name}` || currentView === name)) route();
}

let currentView = null;
let pendingFocus = null;

export function route(moveFocus = false) {
  const wanted = location.hash.slice(1);
  if (session.token && !offered(wanted) && offered(currentView)) return;
  const view = !session.token ? 'signin' : offered(wanted) ? wanted : 'generate';
  currentView = view;
  for (const name of ['signin', ...VIEWS]) $(`view-${name}`).hidden = name !== view;
  document.querySelectorAll('#nav a').forEach((link) => {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  });
  document.title = `${TITLES[view]} · nexus-image studio`;
  if (session.token) emit('view', { view });
  const target = pendingFocus || (moveFocus ? $(`${view}-title`) : null);
  pendingFocus = null;
  if (target) target.focus();
}

window.addEventListener('hashchange', () => route(true));

on('navigate', ({ view, focus }) => {
  pendingFocus = focus || null;
  if (location.hash === `#${view}`) route(true);
  else location.hash = view;
});

// The studio: configuration, sign-in, the header (token balance) and switching views by hash.
import { api, session, sessionMark, on, el, describe, showBanner, hideBanner, report, ApiError } from './api.js';
import { setupGenerate, startLive, stopLive, resetJobs, adoptRunningJobs, refreshOffers } from './generate.js';
import { showLibraryView, resetLibrary } from './library.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'nexus-image.token';
const VIEWS = ['generate', 'images', 'albums', 'gallery'];
const TITLES = { signin: 'Sign in', generate: 'Generate', images: 'My images', albums: 'Albums', gallery: 'Gallery' };
const BALANCE_MS = 10000;

let balanceTimer = null;
let balanceBusy = false;
let balanceAgain = false;
let pendingFocus = null;
let signingIn = false;

// --- views ---------------------------------------------------------------------------------

let currentView = null;

function route(moveFocus = false) {
  const wanted = location.hash.slice(1);
  if (session.token && !VIEWS.includes(wanted) && VIEWS.includes(currentView)) return;
  const view = !session.token ? 'signin' : VIEWS.includes(wanted) ? wanted : 'generate';
  currentView = view;
  for (const name of ['signin', ...VIEWS]) $(`view-${name}`).hidden = name !== view;
  document.querySelectorAll('#nav a').forEach((link) => {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  });
  document.title = `${TITLES[view]} · nexus-image studio`;
  if (session.token) showLibraryView(view);
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

// --- the token balance ---------------------------------------------------------------------

function setBalance(value) {
  const output = $('balance');
  if (output && output.textContent !== String(value)) output.textContent = String(value);
}

async function refreshBalance() {
  if (!session.token) return;
  if (balanceBusy) {
    balanceAgain = true;
    return;
  }
  balanceBusy = true;
  const stale = sessionMark();
  try {
    const { balance } = await api('/api/v1/tokens/balance');
    if (!stale()) setBalance(balance);
  } catch (error) {
    if (!stale()) report(error);
  } finally {
    balanceBusy = false;
    if (balanceAgain) {
      balanceAgain = false;
      refreshBalance();
    }
  }
}

on('balance', refreshBalance);

// --- signing in and out --------------------------------------------------------------------

function signInError(message) {
  const box = $('signin-error');
  box.textContent = message || '';
  box.hidden = !message;
}

function signInFailure(error) {
  if (error instanceof ApiError && error.status === 401) signInError(`Sign-in refused: ${error.message}`);
  else signInError(describe(error));
  if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) showBanner(error);
}

// One sign-in at a time: a second one while the first is under way is ignored.
async function attemptSignIn(work) {
  if (signingIn) return;
  signingIn = true;
  try {
    await work();
  } finally {
    signingIn = false;
  }
}

async function signIn(token) {
  const balance = await api('/api/v1/tokens/balance', { token });
  session.epoch += 1;
  session.token = token;
  session.userId = balance.user_id;
  sessionStorage.setItem(TOKEN_KEY, token);
  hideBanner();
  signInError('');
  $('token-input').value = '';
  $('who').textContent = balance.user_id;
  const old = $('balance');
  if (old) old.remove();
  $('balance-slot').append(el('output', { id: 'balance', role: 'status', 'aria-label': 'Tokens', class: 'balance-value', text: String(balance.balance) }));
  $('account').hidden = false;
  $('nav').hidden = false;
  clearInterval(balanceTimer);
  balanceTimer = setInterval(refreshBalance, BALANCE_MS);
  startLive();
  adoptRunningJobs();
  refreshOffers();
  if (!VIEWS.includes(location.hash.slice(1))) history.replaceState(null, '', '#generate');
  route(true);
}

function signOut(message) {
  session.epoch += 1;
  session.token = null;
  session.userId = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(balanceTimer);
  balanceTimer = null;
  stopLive();
  resetJobs();
  resetLibrary();
  const output = $('balance');
  if (output) output.remove();
  $('who').textContent = '';
  $('account').hidden = true;
  $('nav').hidden = true;
  signInError(message || '');
  route();
  $('token-input').focus();
}

session.onUnauthorized = (error) => {
  if (session.token) signOut(`You were signed out: ${error.message}`);
};

$('sign-out').addEventListener('click', () => signOut());

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (signingIn) return;
  signInError('');
  const token = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    signInError('Paste a token first.');
    $('token-input').focus();
    return;
  }
  attemptSignIn(async () => {
    try {
      await signIn(token);
    } catch (error) {
      signInFailure(error);
    }
  });
});

$('local-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (signingIn) return;
  signInError('');
  const user = $('local-user').value.trim();
  attemptSignIn(async () => {
    try {
      const minted = await api('/studio/local-token', { method: 'POST', body: user ? { user } : {}, token: null });
      await signIn(minted.token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) signInError('Local sign-in is not available on this server.');
      else signInFailure(error);
    }
  });
});

// --- start ---------------------------------------------------------------------------------

function showModel(model) {
  const notice = $('model-notice');
  if (model && model.configured) {
    notice.textContent = `Model: ${model.name}`;
    notice.classList.add('configured');
  } else {
    notice.textContent = (model && model.notice)
      || 'No model is configured: images come from a small random network, so they are noise.';
    notice.classList.add('warning');
  }
  notice.hidden = false;
}

async function start() {
  try {
    session.config = await api('/studio/config', { token: null });
  } catch (error) {
    $('view-signin').hidden = true;
    showBanner(`The studio could not load its configuration (${describe(error)}). Reload the page to try again.`);
    return;
  }
  showModel(session.config.model);
  setupGenerate(session.config);
  $('local-form').hidden = !session.config.local_sign_in;
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) {
    route();
    return;
  }
  await attemptSignIn(async () => {
    try {
      await signIn(saved);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      else $('token-input').value = saved;
      route();
      signInFailure(error);
    }
  });
}

start();

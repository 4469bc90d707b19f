// Signing in (a pasted token, or the embedded server's local sign-in) and out. The token is kept
// for the tab (sessionStorage), so a reload stays signed in.
import { api, session, describe, isOutage, ApiError } from './api.js';
import { emit } from './bus.js';
import { $, showError, showBanner, hideBanner } from './dom.js';
import { route, VIEWS } from './views.js';

const TOKEN_KEY = 'nexus-image.token';
const tokenInput = $('token-input');
let signingIn = false;

const signInError = (message) => showError($('signin-error'), message);

function signInFailure(error) {
  if (error instanceof ApiError && error.status === 401) signInError(`Sign-in refused: ${error.message}`);
  else signInError(describe(error));
  if (isOutage(error)) showBanner(error);
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

// GET /account proves the token: it answers a suspended account too (which then opens on the
// Account screen, which says why).
async function signIn(token) {
  const account = await api('/api/v1/account', { token });
  session.epoch += 1;
  session.token = token;
  session.userId = account.user_id;
  sessionStorage.setItem(TOKEN_KEY, token);
  hideBanner();
  signInError('');
  tokenInput.value = '';
  emit('signed-in', account);
  if (account.suspended) history.replaceState(null, '', '#account');
  else if (!VIEWS.includes(location.hash.slice(1))) history.replaceState(null, '', '#generate');
  route(true);
}

export function signOut(message) {
  session.epoch += 1;
  session.token = null;
  session.userId = null;
  sessionStorage.removeItem(TOKEN_KEY);
  emit('signed-out');
  signInError(message || '');
  route();
  tokenInput.focus();
}

session.onUnauthorized = (error) => {
  if (session.token) signOut(`You were signed out: ${error.message}`);
};

$('sign-out').addEventListener('click', () => signOut());

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (signingIn) return;
  signInError('');
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    signInError('Paste a token first.');
    tokenInput.focus();
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

// The sign-in view, or the session this tab had before a reload.
export async function resumeOrSignIn(config) {
  $('local-form').hidden = !config.local_sign_in;
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
      else tokenInput.value = saved;
      route();
      signInFailure(error);
    }
  });
}

// The Account screen: the tier, the balance, each limit beside its use, how long images are kept,
// a suspension and why; downloading all one's data (GET /account/export, a zip) and erasing it
// (DELETE /account). The account itself comes from the header's refreshes ('account').
import { accountSummary, formatTime, retentionText, usageTable } from './account-facts.js';
import { session, sessionMark, ApiError, describe, isOutage, signedOutMeanwhile, api } from './api.js';
import { emit, on } from './bus.js';
import { $, el, setText, showBanner, showError } from './dom.js';
import { signOut } from './sign-in.js';

const ERASE_HEADER = 'X-Confirm-Erasure'; // DELETE /account wants the user's own id in it
const exportButton = $('account-export');
const eraseButton = $('account-erase');
let shown = false;

const dataError = (message) => showError($('account-data-error'), message);
const dataStatus = (message) => setText($('account-data-status'), message);

function render(account) {
  $('account-facts').replaceChildren(accountSummary(account, 'account'), usageTable(account, 'Limits and usage'));
  setText($('account-retention'), retentionText(account));
  const notice = $('account-suspended');
  notice.hidden = !account.suspended;
  setText(notice, account.suspended
    ? `This account is suspended (since ${formatTime(account.suspended_at)}): ${account.suspended_reason || 'no reason given'}. `
      + 'Nothing can be generated or changed until an operator reinstates it; you can still download your data.'
    : '');
}

on('account', (account) => {
  if (account.user_id === session.userId) render(account);
});

on('view', ({ view }) => {
  const was = shown;
  shown = view === 'account';
  if (shown && !was) emit('balance'); // a fresh look at the usage
});

// --- the user's data ---

function fileName(response, fallback) {
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  return match ? match[1] : fallback;
}

async function problemOf(response) {
  const data = await response.json().catch(() => null);
  return data && typeof data === 'object' ? data : { detail: `${response.status} ${response.statusText}`.trim() };
}

// The zip needs the Authorization header: fetched whole, then saved from an object URL.
async function download() {
  const stale = sessionMark();
  let response;
  try {
    response = await fetch('/api/v1/account/export', { headers: { Authorization: `Bearer ${session.token}` } });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check the connection and try again.' });
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const blob = await response.blob();
  if (stale()) return false;
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: fileName(response, 'nexus-image-export.zip'), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return true;
}

function showDataError(error) {
  if (signedOutMeanwhile(error)) return;
  dataError(error instanceof ApiError ? error.message : describe(error));
  if (isOutage(error)) showBanner(error);
}

exportButton.addEventListener('click', async () => {
  if (exportButton.getAttribute('aria-busy') === 'true') return;
  dataError('');
  dataStatus('Preparing the download…');
  exportButton.setAttribute('aria-busy', 'true');
  try {
    if (await download()) dataStatus('Your data was downloaded (a zip of your images and their records).');
  } catch (error) {
    dataStatus('');
    showDataError(error);
  } finally {
    exportButton.removeAttribute('aria-busy');
  }
});

eraseButton.addEventListener('click', async () => {
  const user = session.userId;
  const question = `Erase the account ${user} and all its data? Your images, albums, presets, webhooks and keys are deleted and your queued images cancelled. This cannot be undone.`;
  if (!user || !window.confirm(question)) return;
  dataError('');
  eraseButton.setAttribute('aria-busy', 'true');
  const stale = sessionMark();
  try {
    await api('/api/v1/account', { method: 'DELETE', headers: { [ERASE_HEADER]: user } });
    if (!stale()) signOut(`The account ${user} and all its data were erased.`);
  } catch (error) {
    if (!stale()) showDataError(error);
  } finally {
    eraseButton.removeAttribute('aria-busy');
  }
});

on('signed-out', () => {
  shown = false;
  $('account-facts').replaceChildren();
  setText($('account-retention'), '');
  $('account-suspended').hidden = true;
  dataError('');
  dataStatus('');
});

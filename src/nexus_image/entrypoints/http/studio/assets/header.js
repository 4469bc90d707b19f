// The header: who is signed in, their tier and token balance, and whether the account is
// suspended: from GET /account, refreshed now and then, and whenever something may have changed
// it. Each answer goes out as 'account' (the Account screen shows the rest of it). The model
// notice below it: models.js.
import { api, session, sessionMark } from './api.js';
import { emit, on } from './bus.js';
import { $, el, report, setText } from './dom.js';

const BALANCE_MS = 10000;
let balanceTimer = null;
let balanceBusy = false;
let balanceAgain = false;

function showAccount(account) {
  const output = $('balance');
  if (output) setText(output, String(account.balance));
  setText($('tier'), account.tier);
  $('suspended-badge').hidden = !account.suspended;
  emit('account', account);
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
    const account = await api('/api/v1/account');
    if (!stale()) showAccount(account);
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

// `account`: the answer of GET /account that proved the token.
on('signed-in', (account) => {
  $('who').textContent = account.user_id;
  const old = $('balance');
  if (old) old.remove();
  $('balance-slot').append(el('output', { id: 'balance', role: 'status', 'aria-label': 'Tokens', class: 'balance-value', text: String(account.balance) }));
  showAccount(account);
  $('account').hidden = false;
  $('nav').hidden = false;
  clearInterval(balanceTimer);
  balanceTimer = setInterval(refreshBalance, BALANCE_MS);
});

on('signed-out', () => {
  clearInterval(balanceTimer);
  balanceTimer = null;
  const output = $('balance');
  if (output) output.remove();
  $('who').textContent = '';
  $('tier').textContent = '';
  $('suspended-badge').hidden = true;
  $('account').hidden = true;
  $('nav').hidden = true;
});

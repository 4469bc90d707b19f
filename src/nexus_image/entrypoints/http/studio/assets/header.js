// The header: who is signed in and their token balance (refreshed now and then, and whenever
// something may have changed it). The model notice below it: models.js.
import { api, session, sessionMark } from './api.js';
import { on } from './bus.js';
import { $, el, report } from './dom.js';

const BALANCE_MS = 10000;
let balanceTimer = null;
let balanceBusy = false;
let balanceAgain = false;

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

// `balance`: the answer of GET /tokens/balance that proved the token.
on('signed-in', (balance) => {
  $('who').textContent = balance.user_id;
  const old = $('balance');
  if (old) old.remove();
  $('balance-slot').append(el('output', { id: 'balance', role: 'status', 'aria-label': 'Tokens', class: 'balance-value', text: String(balance.balance) }));
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
  $('account').hidden = true;
  $('nav').hidden = true;
});

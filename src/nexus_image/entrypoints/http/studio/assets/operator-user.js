// The Operator screen's user lookup: a user's account and usage, their active jobs (cancel,
// requeue), their ledger, tokens granted or taken with a reason, suspension and reinstatement.
import { accountSummary, formatTime, retentionText, usageTable } from './account-facts.js';
import { $, el, setText, showError } from './dom.js';
import { statusText } from './image-facts.js';
import { actionButton, adminCall, adminPath, fillRows, say } from './operator-common.js';

const LEDGER_ROWS = 50;
const form = $('lookup-form');
const input = $('lookup-user');
const result = $('lookup-result');
const lookupError = $('lookup-error');
const tokensForm = $('tokens-form');
const suspendForm = $('suspend-form');
let userId = null; // the user shown
let lookupSeq = 0;
let onJobsChanged = () => {}; // told when a job was cancelled or requeued here (the queue changed)

export const whenJobsChange = (handler) => { onJobsChanged = handler; };

const signed = (amount) => (amount > 0 ? `+${amount}` : String(amount));

function showUser(found, ledger) {
  const { account, active } = found;
  setText($('lookup-name'), `User ${account.user_id}`);
  $('lookup-facts').replaceChildren(accountSummary(account, 'lookup'), usageTable(account, `Limits and usage of ${account.user_id}`),
    el('p', { class: 'hint', text: retentionText(account) }));
  $('lookup-active').replaceChildren(...active.map((image) => el('li', { class: 'active-job' },
    el('span', { class: 'active-prompt', text: image.prompt }),
    el('span', { class: 'hint', text: `${statusText(image)} · ${image.tokens_cost} tokens · ${formatTime(image.created_at)}` }),
    el('span', { class: 'inline' },
      actionButton('Cancel job', image.prompt, () => jobAction(image, 'cancel')),
      actionButton('Requeue job', image.prompt, () => jobAction(image, 'requeue'))))));
  $('lookup-active-empty').hidden = active.length > 0;
  fillRows($('lookup-ledger'), ledger.map((entry) => [formatTime(entry.at), entry.kind, signed(entry.amount),
    entry.reason, entry.job_id || '']));
  $('lookup-ledger-empty').hidden = ledger.length > 0;
  suspendForm.hidden = account.suspended;
  $('reinstate').hidden = !account.suspended;
  result.hidden = false;
}

// Shows `id`'s account; `focus` moves focus to its heading (a new lookup, not a refresh).
export async function lookUp(id, focus = true) {
  const seq = ++lookupSeq;
  input.value = id;
  const [found, ledger] = await Promise.all([
    adminCall(lookupError, adminPath('users', id)),
    adminCall(lookupError, `${adminPath('users', id, 'ledger')}?limit=${LEDGER_ROWS}`),
  ]);
  if (seq !== lookupSeq) return;
  if (!found || !ledger) {
    if (userId !== id) hide();
    return;
  }
  const changed = userId !== id;
  userId = id;
  showUser(found, ledger);
  if (changed) {
    tokensForm.reset();
    suspendForm.reset();
    showError($('tokens-error'), '');
    showError($('suspend-error'), '');
  }
  if (focus) $('lookup-name').focus();
}

export function reloadLookup() {
  if (userId) lookUp(userId, false);
}

function hide() {
  userId = null;
  result.hidden = true;
}

export function clearLookup() {
  lookupSeq += 1;
  hide();
  form.reset();
  tokensForm.reset();
  suspendForm.reset();
  for (const id of ['lookup-error', 'tokens-error', 'suspend-error']) showError($(id), '');
}

async function jobAction(image, action) {
  const answer = await adminCall(lookupError, adminPath('jobs', image.id, action), { method: 'POST' });
  if (!answer) return;
  say(action === 'cancel'
    ? `Cancelled “${image.prompt}” of ${image.user_id}: ${answer.refunded_tokens} tokens refunded.`
    : `“${image.prompt}” of ${image.user_id} is back in the queue.`);
  onJobsChanged();
  await lookUp(image.user_id, false);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const id = input.value.trim();
  if (!id) {
    showError(lookupError, 'Enter the id of a user.', input);
    input.focus();
    return;
  }
  showError(lookupError, '', input);
  lookUp(id);
});

tokensForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const box = $('tokens-error');
  const amount = Number($('tokens-amount').value);
  const reason = $('tokens-reason').value.trim();
  if (!Number.isInteger(amount) || amount === 0) {
    showError(box, 'Enter a whole number of tokens: above 0 grants, below 0 takes.', $('tokens-amount'));
    $('tokens-amount').focus();
    return;
  }
  if (!reason) {
    showError(box, 'Say why: the reason goes into the ledger and the audit trail.', $('tokens-reason'));
    $('tokens-reason').focus();
    return;
  }
  showError(box, '', $('tokens-amount'));
  $('tokens-reason').removeAttribute('aria-invalid');
  const user = userId;
  const answer = await adminCall(box, adminPath('users', user, 'tokens'), { method: 'POST', body: { amount, reason } });
  if (!answer) return;
  tokensForm.reset();
  say(`${amount > 0 ? 'Granted' : 'Took'} ${Math.abs(amount)} tokens ${amount > 0 ? 'to' : 'from'} ${user}: the balance is ${answer.balance}.`);
  await lookUp(user, false);
});

suspendForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const box = $('suspend-error');
  const reason = $('suspend-reason').value.trim();
  if (!reason) {
    showError(box, 'Say why the user is suspended (they see it).', $('suspend-reason'));
    $('suspend-reason').focus();
    return;
  }
  showError(box, '', $('suspend-reason'));
  const user = userId;
  if (!window.confirm(`Suspend ${user}? Their queued images are cancelled and refunded, and they can do nothing until reinstated.`)) return;
  const answer = await adminCall(box, adminPath('users', user, 'suspend'), { method: 'POST', body: { reason } });
  if (!answer) return;
  say(`${user} is suspended; ${answer.cancelled} queued images were cancelled.`);
  onJobsChanged();
  await lookUp(user, false);
});

$('reinstate').addEventListener('click', async () => {
  const user = userId;
  const answer = await adminCall($('suspend-error'), adminPath('users', user, 'reinstate'), { method: 'POST' });
  if (!answer) return;
  say(`${user} is reinstated.`);
  await lookUp(user, false);
});

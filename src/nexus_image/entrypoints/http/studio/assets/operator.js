// The Operator screen, for operators only: every /api/v1/admin route answers anyone else as a
// missing route, so one GET /admin/queue after sign-in decides whether the screen is offered
// (a 404 hides it, silently). Here: the queue (pause, resume, by tier and by user) and the
// workers; the user lookup (operator-user.js) and the flagged images (operator-flagged.js).
import { api, sessionMark } from './api.js';
import { on } from './bus.js';
import { $, setText, showError } from './dom.js';
import { formatTime } from './account-facts.js';
import { actionButton, adminCall, adminPath, fillRows, say } from './operator-common.js';
import { clearFlagged, loadFlagged } from './operator-flagged.js';
import { clearLookup, lookUp, reloadLookup, whenJobsChange } from './operator-user.js';
import { offerView } from './views.js';

const toggle = $('queue-toggle');
const queueError = $('queue-error');
let paused = null;
let shown = false;

function stateText(queue) {
  const oldest = queue.oldest_waiting_seconds === null ? 'nothing waiting'
    : `the oldest image has waited ${Math.round(queue.oldest_waiting_seconds)} s`;
  const state = queue.paused ? 'Paused: nothing new starts' : 'Dispatching';
  return `${state} · ${queue.dispatched} handed to workers · ${queue.running} running · ${oldest}`;
}

function showQueue(queue) {
  paused = queue.paused;
  setText($('queue-state'), stateText(queue));
  setText(toggle, paused ? 'Resume queue' : 'Pause queue');
  toggle.disabled = false;
  fillRows($('queue-tiers'), queue.tiers.map((tier) => [tier.name, String(tier.weight), String(tier.max_queued),
    tier.max_running ? String(tier.max_running) : 'no cap', String(tier.waiting_images), String(tier.waiting_users)]));
  fillRows($('queue-users'), queue.users.map((user) => [user.user_id, user.tier, String(user.waiting), String(user.running),
    actionButton('Look up', user.user_id, () => lookUp(user.user_id))]));
  $('queue-users-empty').hidden = queue.users.length > 0;
}

export async function loadQueue() {
  const queue = await adminCall(queueError, adminPath('queue'));
  if (queue) showQueue(queue);
}

async function loadWorkers() {
  const workers = await adminCall($('workers-error'), adminPath('workers'));
  if (!workers) return;
  fillRows($('workers'), workers.map((worker) => [worker.worker_id,
    worker.models.length ? worker.models.join(', ') : 'any', String(worker.capacity), String(worker.running),
    worker.state, formatTime(worker.last_seen_at)]));
  $('workers-empty').hidden = workers.length > 0;
}

function loadAll() {
  say('');
  loadQueue();
  loadWorkers();
  loadFlagged();
  reloadLookup();
}

toggle.addEventListener('click', async () => {
  if (paused === null || toggle.disabled) return;
  toggle.disabled = true;
  const answer = await adminCall(queueError, adminPath('queue', paused ? 'resume' : 'pause'), { method: 'POST' });
  if (answer) {
    const back = answer.called_back ? ` (${answer.called_back} handed-out images went back to the queue)` : '';
    say(answer.paused ? `The queue is paused${back}.` : 'The queue dispatches again.');
  }
  await loadQueue();
  toggle.disabled = false;
});

$('operator-refresh').addEventListener('click', loadAll);
whenJobsChange(loadQueue);

on('view', ({ view }) => {
  const was = shown;
  shown = view === 'operator';
  if (shown && !was) loadAll();
});

on('signed-in', async () => {
  const stale = sessionMark();
  let operator = false;
  try {
    await api(adminPath('queue'));
    operator = true;
  } catch {
    operator = false; // a 404: not an operator (nothing to show)
  }
  if (!stale()) offerView('operator', operator);
});

on('signed-out', () => {
  shown = false;
  paused = null;
  offerView('operator', false);
  for (const id of ['queue-tiers', 'queue-users', 'workers']) $(id).replaceChildren();
  for (const id of ['queue-error', 'workers-error']) showError($(id), '');
  setText($('queue-state'), '');
  toggle.disabled = true;
  say('');
  clearLookup();
  clearFlagged();
});

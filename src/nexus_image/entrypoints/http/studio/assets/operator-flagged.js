// The Operator screen's flagged images: what the output check flagged (not reviewed yet, or
// already decided), each shown from its PNG (fetched with the token) and decided on: hide
// (private for good), release (its owner may publish it) or delete.
import { $, el, setText } from './dom.js';
import { formatTime } from './account-facts.js';
import { actionButton, adminCall, adminPath, say, showProblem } from './operator-common.js';
import { releaseWithin, showImage } from './pictures.js';

const grid = $('flagged-grid');
const which = $('flagged-which');
const flaggedError = $('flagged-error');
const DECIDED = { hide: 'hidden', release: 'released', delete: 'deleted' };
let loadSeq = 0;

function findings(image) {
  const safety = image.safety;
  if (!safety) return 'flagged';
  const labels = safety.labels && safety.labels.length ? safety.labels.join(', ') : 'no label';
  return `${labels} (score ${Number(safety.score).toFixed(2)}, ${safety.checker})`;
}

function flaggedCell(image) {
  const picture = el('img', { alt: image.prompt, loading: 'lazy' });
  const item = el('li', { class: 'cell flagged', 'aria-label': `Flagged: ${image.prompt}` },
    el('div', { class: 'thumb' }, picture),
    el('p', { class: 'thumb-prompt', text: image.prompt }),
    el('p', { class: 'caption' },
      el('span', { text: `by ${image.user_id}` }),
      el('span', { text: formatTime(image.created_at) }),
      el('span', { text: findings(image) })),
    el('div', { class: 'inline' },
      actionButton('Hide', image.prompt, () => decide(image, 'hide')),
      actionButton('Release', image.prompt, () => decide(image, 'release')),
      actionButton('Delete', image.prompt, () => decide(image, 'delete'), 'danger')));
  showImage(picture, adminPath('flagged', image.id, 'content')).catch((error) => showProblem(flaggedError, error));
  return item;
}

export async function loadFlagged() {
  const seq = ++loadSeq;
  const reviewed = which.value === 'reviewed';
  const images = await adminCall(flaggedError, `${adminPath('flagged')}?reviewed=${reviewed}`);
  if (seq !== loadSeq || !images) return;
  releaseWithin(grid);
  grid.replaceChildren(...images.map(flaggedCell));
  setText($('flagged-empty'), images.length ? '' : reviewed ? 'No reviewed images.' : 'Nothing to review.');
}

async function decide(image, decision) {
  if (decision === 'delete' && !window.confirm(`Delete the flagged image “${image.prompt}” of ${image.user_id} and its files?`)) return;
  const answer = await adminCall(flaggedError, adminPath('flagged', image.id, 'review'), { method: 'POST', body: { decision } });
  if (!answer) return;
  say(`“${image.prompt}” of ${image.user_id} is ${DECIDED[decision]}.`);
  await loadFlagged();
}

export function clearFlagged() {
  loadSeq += 1;
  releaseWithin(grid);
  grid.replaceChildren();
  setText($('flagged-empty'), '');
  which.value = 'pending';
  setText(flaggedError, '');
  flaggedError.hidden = true;
}

which.addEventListener('change', loadFlagged);

// The image details dialog: the picture at full size, every setting and fact of the image, and
// `act`, which runs one of its actions (image-actions.js) and shows the image as it is then.
import { api, sessionMark, owns, describe, path } from './api.js';
import { emit, on } from './bus.js';
import { $, el } from './dom.js';
import { forgetCell, rememberOpener, settleFocus } from './grid-focus.js';
import { statusText, resolutionText, variationOf } from './image-facts.js';
import { objectUrl, isCrossOrigin } from './pictures.js';

export const dialog = $('detail');
const picture = $('detail-image');
const pictureState = $('detail-state');
const download = $('detail-download');
const albumChoice = $('detail-album');
let current = null; // {image, owner, actions}: a new object (ticket) each time the dialog opens
let full = { id: null, url: null }; // the full-size picture: a new object (ticket) per load
let changed = false;

export const shown = () => current;

export function detailMessage(text) {
  $('detail-message').textContent = text || '';
}

export function detailError(error) {
  const box = $('detail-error');
  box.textContent = error ? describe(error) : '';
  box.hidden = !error;
}

const when = (value) => (value ? new Date(value).toLocaleString() : '—');

// Retention: when the tier's retention removes the files (null: kept forever); the operator
// may keep favorites, album images and public images past it.
function expiryText(image) {
  if (image.data_removed_at) return `Files removed ${when(image.data_removed_at)}`;
  if (!image.expires_at) return 'Never';
  return `${when(image.expires_at)} (a favorite, album or public image may be kept longer)`;
}

function safetyText(safety) {
  if (!safety) return 'Not checked';
  const labels = safety.labels && safety.labels.length ? `, ${safety.labels.join(', ')}` : '';
  return `${safety.flagged ? 'Flagged' : 'Passed'} (score ${safety.score}${labels}; ${safety.checker})`;
}

function variationText(image) {
  const variation = variationOf(image);
  return variation ? `Seed ${variation.seed}, strength ${variation.strength}` : '—';
}

// Image to image and inpainting: where the image started from (rows only where there is one).
function sourceRows(image) {
  if (!image.init_image_id) return [];
  return [
    ['Mode', image.mask_image_id ? 'Inpainting' : 'Image to image'],
    ['Starting image', image.init_image_id],
    image.mask_image_id ? ['Mask', image.mask_image_id] : null,
    image.strength !== null && image.strength !== undefined ? ['Strength', image.strength] : null,
  ];
}

function rowsOf(image) {
  const loras = Array.isArray(image.loras) ? image.loras : [];
  return [
    ['Prompt', image.prompt],
    ['Negative prompt', image.negative_prompt || '—'],
    ['Style', image.style],
    ['Resolution', resolutionText(image)],
    ['Seed', image.seed],
    ['Steps', image.steps],
    ['Guidance', image.guidance],
    ['Scheduler', image.scheduler],
    ['Variation', variationText(image)],
    ...sourceRows(image),
    loras.length ? ['LoRAs', loras.map((lora) => `${lora.name} (weight ${lora.weight})`).join(', ')] : null,
    ['Group', image.group_id || '—'],
    ['Tokens', image.tokens_cost],
    ['Status', statusText(image)],
    ['Created', when(image.created_at)],
    ['Completed', when(image.completed_at)],
    ['Expires', expiryText(image)],
    ['Public', image.is_public ? 'Yes' : 'No'],
    ['Favorite', image.is_favorite ? 'Yes' : 'No'],
    ['Safety', safetyText(image.safety)],
    ['Owner', image.user_id],
    image.failure_reason ? ['Failure', image.failure_reason] : null,
  ].filter(Boolean);
}

function render() {
  const { image, owner } = current;
  $('detail-params').replaceChildren(...rowsOf(image).map(([name, value]) =>
    el('div', {}, el('dt', { text: name }), el('dd', { text: String(value) }))));
  picture.alt = image.prompt;
  if (image.status === 'COMPLETED' && image.storage_url) {
    if (full.id !== image.id) loadFull(image);
  } else {
    dropFull();
    if (image.data_removed_at) {
      pictureState.textContent = `Its files were removed by retention (${when(image.data_removed_at)}).`;
    } else {
      pictureState.textContent = image.status === 'FAILED'
        ? `Failed: ${image.failure_reason || 'the generation did not finish'}`
        : `${statusText(image)}: no picture yet.`;
    }
  }
  dialog.querySelectorAll('.owner').forEach((node) => { node.hidden = !owner; });
  // Anyone may favorite an image they can see; the label stays, aria-pressed tells the state.
  $('detail-favorite').setAttribute('aria-pressed', String(Boolean(image.is_favorite)));
  $('detail-visibility').textContent = image.is_public ? 'Make private' : 'Make public';
}

async function loadFull(image) {
  dropFull();
  const ticket = { id: image.id, url: null };
  full = ticket;
  pictureState.textContent = 'Loading the image…';
  const stale = sessionMark();
  let url;
  try {
    url = await objectUrl(image.storage_url);
  } catch (error) {
    if (full !== ticket || stale()) return;
    pictureState.textContent = 'The image could not be loaded.';
    detailError(error);
    return;
  }
  if (full !== ticket || !dialog.open || stale()) { // a later load (or a close) won the race
    if (url.startsWith('blob:')) URL.revokeObjectURL(url);
    return;
  }
  ticket.url = url;
  picture.src = url;
  picture.hidden = false;
  download.href = url;
  download.download = `nexus-image-${image.id}.png`;
  if (isCrossOrigin(url)) { // a presigned link: browsers ignore `download` there, so a new tab
    download.target = '_blank';
    download.rel = 'noopener';
  } else {
    download.removeAttribute('target');
    download.removeAttribute('rel');
  }
  download.hidden = false;
  pictureState.textContent = '';
}

function dropFull() {
  if (full.url && full.url.startsWith('blob:')) URL.revokeObjectURL(full.url);
  full = { id: null, url: null };
  picture.hidden = true;
  picture.removeAttribute('src');
  download.hidden = true;
  for (const name of ['href', 'target', 'rel']) download.removeAttribute(name);
}

async function loadAlbumChoices(ticket) {
  const stale = sessionMark();
  try {
    const list = await api('/api/v1/albums');
    if (current !== ticket || stale()) return;
    albumChoice.replaceChildren(...list.map((album) => el('option', { value: album.id, text: album.name })));
    if (!list.length) albumChoice.append(el('option', { value: '', text: 'No albums yet: create one under Albums' }));
    $('detail-add-album').disabled = !list.length;
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  }
}

on('open-image', ({ image }) => {
  if (!dialog.open) rememberOpener();
  current = { image, owner: owns(image), actions: 0 };
  detailError(null);
  detailMessage('');
  render();
  if (!dialog.open) dialog.showModal();
  if (current.owner) loadAlbumChoices(current);
  refresh(current);
});

// Lists do not always say whether the caller favorited an image (the gallery and albums never
// do), so the image is asked for once the dialog is open.
async function refresh(ticket) {
  const stale = sessionMark();
  const { actions } = ticket;
  try {
    const fresh = await api(`/api/v1/images/${path(ticket.image.id)}`);
    if (current !== ticket || stale() || ticket.actions !== actions) return; // an action's answer is newer
    ticket.image = fresh;
    render();
  } catch {
    // what the list said stays shown; the actions report their own errors
  }
}

dialog.addEventListener('close', () => {
  dropFull();
  current = null;
  if (changed) emit('images-changed');
  changed = false;
  settleFocus();
});
$('detail-close').addEventListener('click', () => dialog.close());

// Something changed the image: the grids are reloaded once the dialog closes (now, if it is).
export function noteChange(ticket) {
  if (current === ticket) changed = true;
  else emit('images-changed');
}

// Runs an action on the shown image, then shows the image as the server now has it.
export async function act(action, done) {
  if (!current) return;
  const ticket = current;
  const { image } = ticket;
  const stale = sessionMark();
  ticket.actions += 1;
  detailError(null);
  detailMessage('');
  try {
    await action(image);
    if (stale()) return;
    noteChange(ticket);
    const fresh = await api(`/api/v1/images/${path(image.id)}`);
    if (current === ticket && !stale()) {
      ticket.image = fresh;
      render();
      detailMessage(done);
    }
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  }
}

on('signed-out', () => {
  forgetCell();
  if (dialog.open) dialog.close();
});

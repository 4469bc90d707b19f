// My images, the gallery, albums and the image detail dialog.
import {
  api, sessionMark, owns, emit, on, el, describe, report, objectUrl, isCrossOrigin, showImage, releaseWithin,
  STATUS_TEXT, thumbnailUrl, resolutionText, ApiError, newSeed, variationOf,
} from './api.js';

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const path = (...parts) => parts.map(encodeURIComponent).join('/');
let activeView = null;

// A grid of images loaded a page at a time ("Load more"). Only the latest request counts: one
// made before a reset (or a sign-out) is dropped, and an image already shown (pages shift when
// images are added or removed in between) is not shown twice.
class Pager {
  constructor({ list, more, summary, url, item, filter = () => true, empty }) {
    Object.assign(this, { list, more, summary, url, item, filter, empty });
    this.seq = 0;
    this.page = 0;
    this.items = [];
    this.ids = new Set();
    this.total = 0;
    this.done = true;
    this.loading = false;
    more.addEventListener('click', () => this.next());
  }

  clear() {
    this.seq += 1;
    this.page = 0;
    this.items = [];
    this.ids = new Set();
    this.total = 0;
    this.done = true;
    this.loading = false;
    releaseWithin(this.list);
    this.list.replaceChildren();
    this.more.hidden = true;
    this.more.disabled = false;
    this.summary.textContent = '';
  }

  reset() {
    this.clear();
    this.summary.textContent = 'Loading…';
    return this.next();
  }

  async next() {
    if (this.loading) return;
    const seq = this.seq;
    const stale = sessionMark();
    this.loading = true;
    this.more.disabled = true;
    try {
      const data = await api(this.url(this.page, PAGE_SIZE));
      if (seq !== this.seq || stale()) return;
      this.page += 1;
      this.total = data.total;
      const fresh = data.items.filter((image) => !this.ids.has(image.id));
      fresh.forEach((image) => this.ids.add(image.id));
      this.items.push(...fresh);
      this.done = data.items.length < PAGE_SIZE || this.page * PAGE_SIZE >= data.total;
      this.list.append(...fresh.filter(this.filter).map(this.item));
      this.summarise();
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.summary.textContent = 'The images could not be loaded.';
      report(error);
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.more.disabled = false;
        settleFocus();
      }
    }
  }

  refilter() {
    releaseWithin(this.list);
    this.list.replaceChildren(...this.items.filter(this.filter).map(this.item));
    this.summarise();
  }

  summarise() {
    const shown = this.list.children.length;
    const filtered = shown !== this.items.length;
    this.more.hidden = this.done;
    if (this.total === 0) this.summary.textContent = this.empty;
    else if (filtered) this.summary.textContent = `Showing ${shown} of the ${this.items.length} loaded (${this.total} in all)`;
    else this.summary.textContent = `Showing ${shown} of ${this.total}`;
  }
}

function cell(image, { extra = [] } = {}) {
  const owner = owns(image);
  const url = thumbnailUrl(image);
  let content;
  if (url) {
    content = el('img', { alt: image.prompt, loading: 'lazy', width: image.width, height: image.height });
    showImage(content, url).catch(report);
  } else {
    content = [
      el('span', { class: 'thumb-status', text: STATUS_TEXT[image.status] || image.status }),
      el('span', { class: 'thumb-prompt', text: image.prompt }),
    ];
  }
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image, owner: owns(image) }) }, content);
  const caption = el('p', { class: 'caption' },
    owner ? null : el('span', { text: `by ${image.user_id}` }),
    owner && image.is_favorite ? el('span', { class: 'badge', text: '★ Favorite' }) : null,
    owner && image.is_public ? el('span', { class: 'badge', text: 'Public' }) : null);
  return el('li', { class: 'cell', 'data-id': image.id, 'data-status': image.status.toLowerCase() }, open, caption, ...extra);
}

// --- My images and the gallery -------------------------------------------------------------

const favoritesOnly = $('favorites-only');
const publicOnly = $('public-only');

const myImages = new Pager({
  list: $('images-grid'), more: $('images-more'), summary: $('images-summary'),
  url: (page, size) => `/api/v1/images/${favoritesOnly.checked ? 'favorites' : 'user/me'}?page=${page}&size=${size}`,
  item: (image) => cell(image),
  filter: (image) => !publicOnly.checked || image.is_public,
  empty: 'No images here yet.',
});
favoritesOnly.addEventListener('change', () => myImages.reset());
publicOnly.addEventListener('change', () => myImages.refilter());

const gallery = new Pager({
  list: $('gallery-grid'), more: $('gallery-more'), summary: $('gallery-summary'),
  url: (page, size) => `/api/v1/images/public?page=${page}&size=${size}`,
  item: (image) => cell(image),
  empty: 'No public images yet.',
});

// --- albums --------------------------------------------------------------------------------

const albumList = $('album-list');
const albumName = $('album-name');
const albumError = $('album-name-error');
const albumSection = $('album-open');
const albumTitle = $('album-open-title');
let albums = [];
let openAlbum = null;
let albumsSeq = 0;

const albumImages = new Pager({
  list: $('album-grid'), more: $('album-more'), summary: $('album-summary'),
  url: (page, size) => `/api/v1/albums/${path(openAlbum.id)}/images?page=${page}&size=${size}`,
  item: (image) => cell(image, {
    extra: [el('button', {
      type: 'button', class: 'small', text: 'Remove from album', 'aria-label': `Remove from album: ${image.prompt}`,
      onclick: () => removeFromAlbum(image),
    })],
  }),
  empty: 'This album is empty: add images from their details.',
});

function setAlbumError(message) {
  albumError.textContent = message || '';
  albumError.hidden = !message;
  if (message) albumName.setAttribute('aria-invalid', 'true');
  else albumName.removeAttribute('aria-invalid');
}

$('album-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  setAlbumError('');
  const name = albumName.value.trim();
  if (!name) {
    setAlbumError('Enter a name for the album.');
    albumName.focus();
    return;
  }
  const stale = sessionMark();
  try {
    await api('/api/v1/albums', { method: 'POST', body: { name } });
    if (stale()) return;
    albumName.value = '';
    await loadAlbums();
  } catch (error) {
    if (stale() || (error instanceof ApiError && error.status === 401)) return;
    setAlbumError(describe(error));
    albumName.focus();
  }
});

async function loadAlbums() {
  const seq = ++albumsSeq;
  const stale = sessionMark();
  let list;
  try {
    list = await api('/api/v1/albums');
  } catch (error) {
    if (seq === albumsSeq && !stale()) report(error);
    return;
  }
  if (seq !== albumsSeq || stale()) return;
  albums = list;
  // The list is rebuilt: a focused button comes back focused (or the heading, if its album is gone).
  const focused = albumList.contains(document.activeElement) ? document.activeElement : null;
  const focusedAlbum = focused && focused.closest('li[data-id]');
  const focusAgain = focusedAlbum ? { id: focusedAlbum.dataset.id, action: focused.dataset.action } : null;
  const button = (action, text, album, onclick, extra = '') => el('button', {
    type: 'button', class: `small${extra}`, text, 'aria-label': `${text}: ${album.name}`, 'data-action': action, onclick,
  });
  albumList.replaceChildren(...albums.map((album) => el('li', { class: 'album', 'data-id': album.id, 'aria-label': `Album: ${album.name}` },
    el('span', { class: 'album-name', text: album.name }),
    el('span', { class: 'hint', text: plural(album.image_count, 'image') }),
    el('span', { class: 'inline' },
      button('open', 'Open', album, () => showAlbum(album)),
      button('rename', 'Rename', album, () => renameAlbum(album)),
      button('delete', 'Delete', album, () => deleteAlbum(album), ' danger')))));
  $('albums-empty').hidden = albums.length > 0;
  if (focusAgain) {
    const item = [...albumList.children].find((node) => node.dataset.id === focusAgain.id);
    const again = item && [...item.querySelectorAll('button')].find((node) => node.dataset.action === focusAgain.action);
    if (again) again.focus();
    else $('albums-title').focus();
  }
  if (openAlbum) {
    const still = albums.find((album) => album.id === openAlbum.id);
    if (still) albumTitle.textContent = (openAlbum = still).name;
    else closeAlbum();
  }
}

function showAlbum(album) {
  openAlbum = album;
  albumTitle.textContent = album.name;
  albumSection.hidden = false;
  albumTitle.tabIndex = -1;
  albumTitle.focus();
  return albumImages.reset();
}

function closeAlbum() {
  openAlbum = null;
  albumImages.clear();
  albumSection.hidden = true;
}
$('album-close').addEventListener('click', closeAlbum);

async function renameAlbum(album) {
  const name = window.prompt('New name for the album', album.name);
  if (name === null || !name.trim() || name.trim() === album.name) return;
  const stale = sessionMark();
  try {
    await api(`/api/v1/albums/${path(album.id)}`, { method: 'PATCH', body: { name: name.trim() } });
  } catch (error) {
    if (!stale()) report(error);
  }
  if (!stale()) await loadAlbums();
}

async function deleteAlbum(album) {
  if (!window.confirm(`Delete the album “${album.name}”? Its images are kept.`)) return;
  const stale = sessionMark();
  try {
    await api(`/api/v1/albums/${path(album.id)}`, { method: 'DELETE' });
    if (!stale() && openAlbum && openAlbum.id === album.id) closeAlbum();
  } catch (error) {
    if (!stale()) report(error);
  }
  if (!stale()) await loadAlbums();
}

async function removeFromAlbum(image) {
  const album = openAlbum;
  if (!album) return;
  const stale = sessionMark();
  try {
    await api(`/api/v1/albums/${path(album.id, 'images', image.id)}`, { method: 'DELETE' });
  } catch (error) {
    if (!stale()) report(error);
  }
  if (stale()) return;
  const hadFocus = albumImages.list.contains(document.activeElement);
  await Promise.all([openAlbum === album ? albumImages.reset() : null, loadAlbums()]);
  const active = document.activeElement;
  if (hadFocus && openAlbum === album && (!active || active === document.body)) albumTitle.focus();
}

// --- the views -----------------------------------------------------------------------------

export function showLibraryView(view) {
  activeView = view;
  if (view === 'images') myImages.reset();
  else if (view === 'gallery') gallery.reset();
  else if (view === 'albums') {
    loadAlbums();
    if (openAlbum) albumImages.reset();
  }
}

on('images-changed', () => {
  if (!dialog.open) rememberFocus(); // the grid is rebuilt: its focused cell gets focus back
  if (activeView === 'images') myImages.reset();
  else if (activeView === 'gallery') gallery.reset();
  else if (activeView === 'albums') {
    loadAlbums();
    if (openAlbum) albumImages.reset();
  }
});

export function resetLibrary() {
  activeView = null;
  returnTo = null;
  albumsSeq += 1;
  if (dialog.open) dialog.close();
  myImages.clear();
  gallery.clear();
  closeAlbum();
  albums = [];
  albumList.replaceChildren();
  setAlbumError('');
  favoritesOnly.checked = false;
  publicOnly.checked = false;
}

// --- the detail dialog ---------------------------------------------------------------------

const dialog = $('detail');
const detailImage = $('detail-image');
const detailState = $('detail-state');
const download = $('detail-download');
const favorite = $('detail-favorite');
const visibility = $('detail-visibility');
const albumChoice = $('detail-album');
const addToAlbum = $('detail-add-album');
const PAGERS = [myImages, gallery, albumImages];
let current = null; // {image, owner}: a new object each time the dialog opens
let full = { id: null, url: null }; // the full-size picture: a new object (ticket) per load
let changed = false;
let returnTo = null; // {list, id}: the grid cell the dialog was opened from

function rememberFocus() {
  const active = document.activeElement;
  const origin = active && active.closest ? active.closest('li[data-id]') : null;
  if (origin && PAGERS.some((pager) => pager.list === origin.parentElement)) {
    returnTo = { list: origin.parentElement, id: origin.dataset.id };
  }
}

// Once the dialog closed, focus goes back to the cell it was opened from. The browser does that
// itself unless the cell was removed (the grid is rebuilt when something changed): then the cell
// with the same id gets it once the grid has loaded again, or the grid's heading if it is gone.
function settleFocus() {
  const target = returnTo;
  if (!target || dialog.open) return;
  const active = document.activeElement;
  if (active && active !== document.body && active.isConnected) {
    returnTo = null; // focus is somewhere already (the cell itself, or wherever the user went)
    return;
  }
  const item = [...target.list.children].find((node) => node.dataset.id === target.id);
  const button = item && item.querySelector('.thumb');
  if (button) {
    returnTo = null;
    button.focus();
    return;
  }
  const pager = PAGERS.find((candidate) => candidate.list === target.list);
  if (pager && pager.loading) return; // tried again once the page is in
  returnTo = null;
  const heading = $(target.list.getAttribute('aria-labelledby'));
  if (heading && !heading.closest('[hidden]')) {
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus();
  }
}

function detailMessage(text) {
  $('detail-message').textContent = text || '';
}

function detailError(error) {
  const box = $('detail-error');
  box.textContent = error ? describe(error) : '';
  box.hidden = !error;
}

function when(value) {
  return value ? new Date(value).toLocaleString() : '—';
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

function lorasText(loras) {
  return loras.map((lora) => `${lora.name} (weight ${lora.weight})`).join(', ');
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

function renderDetail() {
  const { image, owner } = current;
  const loras = Array.isArray(image.loras) ? image.loras : [];
  const rows = [
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
    loras.length ? ['LoRAs', lorasText(loras)] : null,
    ['Group', image.group_id || '—'],
    ['Tokens', image.tokens_cost],
    ['Status', STATUS_TEXT[image.status] || image.status],
    ['Created', when(image.created_at)],
    ['Completed', when(image.completed_at)],
    ['Public', image.is_public ? 'Yes' : 'No'],
    ['Favorite', image.is_favorite ? 'Yes' : 'No'],
    ['Safety', safetyText(image.safety)],
    ['Owner', image.user_id],
    image.failure_reason ? ['Failure', image.failure_reason] : null,
  ].filter(Boolean);
  $('detail-params').replaceChildren(...rows.map(([name, value]) =>
    el('div', {}, el('dt', { text: name }), el('dd', { text: String(value) }))));

  detailImage.alt = image.prompt;
  if (image.status === 'COMPLETED' && image.storage_url) {
    if (full.id !== image.id) loadFull(image);
  } else {
    dropFull();
    detailState.textContent = image.status === 'FAILED'
      ? `Failed: ${image.failure_reason || 'the generation did not finish'}`
      : `${STATUS_TEXT[image.status] || image.status}: no picture yet.`;
  }
  dialog.querySelectorAll('.owner').forEach((node) => { node.hidden = !owner; });
  // Anyone may favorite an image they can see; the label stays, aria-pressed tells the state.
  favorite.setAttribute('aria-pressed', String(Boolean(image.is_favorite)));
  visibility.textContent = image.is_public ? 'Make private' : 'Make public';
}

async function loadFull(image) {
  dropFull();
  const ticket = { id: image.id, url: null };
  full = ticket;
  detailState.textContent = 'Loading the image…';
  const stale = sessionMark();
  let url;
  try {
    url = await objectUrl(image.storage_url);
  } catch (error) {
    if (full !== ticket || stale()) return;
    detailState.textContent = 'The image could not be loaded.';
    detailError(error);
    return;
  }
  if (full !== ticket || !dialog.open || stale()) { // a later load (or a close) won the race
    if (url.startsWith('blob:')) URL.revokeObjectURL(url);
    return;
  }
  ticket.url = url;
  detailImage.src = url;
  detailImage.hidden = false;
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
  detailState.textContent = '';
}

function dropFull() {
  if (full.url && full.url.startsWith('blob:')) URL.revokeObjectURL(full.url);
  full = { id: null, url: null };
  detailImage.hidden = true;
  detailImage.removeAttribute('src');
  download.hidden = true;
  download.removeAttribute('href');
  download.removeAttribute('target');
  download.removeAttribute('rel');
}

async function loadAlbumChoices(ticket) {
  const stale = sessionMark();
  try {
    const list = await api('/api/v1/albums');
    if (current !== ticket || stale()) return;
    albumChoice.replaceChildren(...list.map((album) => el('option', { value: album.id, text: album.name })));
    if (!list.length) albumChoice.append(el('option', { value: '', text: 'No albums yet: create one under Albums' }));
    addToAlbum.disabled = !list.length;
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  }
}

on('open-image', ({ image }) => {
  if (!dialog.open) {
    const opener = document.activeElement;
    const origin = opener && opener.closest ? opener.closest('li[data-id]') : null;
    returnTo = origin && origin.parentElement ? { list: origin.parentElement, id: origin.dataset.id } : null;
  }
  current = { image, owner: owns(image), actions: 0 };
  detailError(null);
  detailMessage('');
  renderDetail();
  if (!dialog.open) dialog.showModal();
  if (current.owner) loadAlbumChoices(current);
  refreshDetail(current);
});

// Lists do not always say whether the caller favorited an image (the gallery and albums never
// do), so the image is asked for once the dialog is open.
async function refreshDetail(ticket) {
  const stale = sessionMark();
  const { actions } = ticket;
  try {
    const fresh = await api(`/api/v1/images/${path(ticket.image.id)}`);
    if (current !== ticket || stale() || ticket.actions !== actions) return; // an action's answer is newer
    ticket.image = fresh;
    renderDetail();
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
function noteChange(ticket) {
  if (current === ticket) changed = true;
  else emit('images-changed');
}

// Runs an action on the shown image, then shows the image as the server now has it.
async function act(action, done) {
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
      renderDetail();
      detailMessage(done);
    }
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  }
}

favorite.addEventListener('click', () => {
  const liked = Boolean(current && current.image.is_favorite);
  act((image) => api(`/api/v1/images/${path(image.id)}/favorite`, { method: liked ? 'DELETE' : 'PUT' }),
    liked ? 'Removed from favorites.' : 'Added to favorites.');
});

visibility.addEventListener('click', () => {
  const pub = current && current.image.is_public;
  act((image) => api(`/api/v1/images/${path(image.id)}/visibility`, { method: 'PATCH', body: { is_public: !pub } }),
    pub ? 'The image is private now.' : 'The image is public now.');
});

addToAlbum.addEventListener('click', () => {
  const option = albumChoice.selectedOptions[0];
  if (!option || !option.value) return;
  act((image) => api(`/api/v1/albums/${path(option.value, 'images', image.id)}`, { method: 'PUT' }),
    `Added to the album “${option.textContent}”.`);
});

$('detail-delete').addEventListener('click', async () => {
  if (!current || !window.confirm('Delete this image? This cannot be undone.')) return;
  const ticket = current;
  const { id } = ticket.image;
  const stale = sessionMark();
  try {
    await api(`/api/v1/images/${path(id)}`, { method: 'DELETE' });
    if (stale()) return;
    noteChange(ticket);
    if (current === ticket) dialog.close();
    emit('image-deleted', { id });
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  }
});

$('detail-reuse').addEventListener('click', () => {
  if (!current) return;
  const { image } = current;
  dialog.close();
  emit('reuse', image);
});

// A remix: the Generate form gets the image's settings, and sends what is changed from them.
$('detail-remix').addEventListener('click', () => {
  if (!current) return;
  const { image } = current;
  dialog.close();
  emit('remix', image);
});

// Four variations of the image at once (a random variation seed, a light touch), followed in
// the Generate view's "In progress".
const VARIATIONS = { num_images: 4, variation_strength: 0.3 };
const variations = $('detail-variations');
let varying = null; // the dialog ticket whose variations are being requested

variations.addEventListener('click', async () => {
  if (!current || varying === current) return;
  const ticket = current;
  varying = ticket;
  const stale = sessionMark();
  detailError(null);
  detailMessage('');
  variations.setAttribute('aria-busy', 'true');
  try {
    const created = await api(`/api/v1/images/${path(ticket.image.id)}/remix`, {
      method: 'POST', body: { ...VARIATIONS, variation_seed: newSeed() },
    });
    if (stale()) return;
    emit('jobs-created', { images: created.images || [created] });
    if (current !== ticket) return; // the dialog was closed meanwhile: the jobs are listed all the same
    dialog.close();
    emit('navigate', { view: 'generate', focus: $('jobs-title') });
  } catch (error) {
    if (current === ticket && !stale()) detailError(error);
  } finally {
    if (varying === ticket) {
      varying = null;
      variations.removeAttribute('aria-busy');
    }
  }
});

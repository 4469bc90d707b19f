// My images, the gallery, albums and the image detail dialog.
import {
  api, emit, on, el, describe, report, objectUrl, showImage, releaseWithin,
  STATUS_TEXT, thumbnailUrl, resolutionText, ApiError,
} from './api.js';

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const path = (...parts) => parts.map(encodeURIComponent).join('/');
let activeView = null;

// A grid of images loaded a page at a time ("Load more").
class Pager {
  constructor({ list, more, summary, url, item, filter = () => true, empty }) {
    Object.assign(this, { list, more, summary, url, item, filter, empty });
    this.seq = 0;
    this.items = [];
    this.total = 0;
    more.addEventListener('click', () => this.next());
  }

  clear() {
    this.seq += 1;
    this.page = 0;
    this.items = [];
    this.total = 0;
    releaseWithin(this.list);
    this.list.replaceChildren();
    this.more.hidden = true;
    this.summary.textContent = '';
  }

  reset() {
    this.clear();
    this.summary.textContent = 'Loading…';
    return this.next();
  }

  async next() {
    const seq = this.seq;
    this.more.disabled = true;
    try {
      const data = await api(this.url(this.page, PAGE_SIZE));
      if (seq !== this.seq) return;
      this.page += 1;
      this.total = data.total;
      this.items.push(...data.items);
      this.list.append(...data.items.filter(this.filter).map(this.item));
      this.summarise();
    } catch (error) {
      if (seq !== this.seq) return;
      this.summary.textContent = 'The images could not be loaded.';
      report(error);
    } finally {
      this.more.disabled = false;
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
    this.more.hidden = this.items.length >= this.total;
    if (this.total === 0) this.summary.textContent = this.empty;
    else if (filtered) this.summary.textContent = `Showing ${shown} of the ${this.items.length} loaded (${this.total} in all)`;
    else this.summary.textContent = `Showing ${shown} of ${this.total}`;
  }
}

function cell(image, { owner, extra = [] }) {
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
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image, owner }) }, content);
  const caption = el('p', { class: 'caption' },
    owner ? null : el('span', { text: `by ${image.user_id}` }),
    owner && image.is_favorite ? el('span', { class: 'badge', text: '★ Favorite' }) : null,
    owner && image.is_public ? el('span', { class: 'badge', text: 'Public' }) : null);
  return el('li', { class: 'cell', 'data-status': image.status.toLowerCase() }, open, caption, ...extra);
}

// --- My images and the gallery -------------------------------------------------------------

const favoritesOnly = $('favorites-only');
const publicOnly = $('public-only');

const myImages = new Pager({
  list: $('images-grid'), more: $('images-more'), summary: $('images-summary'),
  url: (page, size) => `/api/v1/images/${favoritesOnly.checked ? 'favorites' : 'user/me'}?page=${page}&size=${size}`,
  item: (image) => cell(image, { owner: true }),
  filter: (image) => !publicOnly.checked || image.is_public,
  empty: 'No images here yet.',
});
favoritesOnly.addEventListener('change', () => myImages.reset());
publicOnly.addEventListener('change', () => myImages.refilter());

const gallery = new Pager({
  list: $('gallery-grid'), more: $('gallery-more'), summary: $('gallery-summary'),
  url: (page, size) => `/api/v1/images/public?page=${page}&size=${size}`,
  item: (image) => cell(image, { owner: false }),
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

const albumImages = new Pager({
  list: $('album-grid'), more: $('album-more'), summary: $('album-summary'),
  url: (page, size) => `/api/v1/albums/${path(openAlbum.id)}/images?page=${page}&size=${size}`,
  item: (image) => cell(image, {
    owner: true,
    extra: [el('button', { type: 'button', class: 'small', text: 'Remove from album', onclick: () => removeFromAlbum(image) })],
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
  try {
    await api('/api/v1/albums', { method: 'POST', body: { name } });
    albumName.value = '';
    await loadAlbums();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    setAlbumError(describe(error));
    albumName.focus();
  }
});

async function loadAlbums() {
  try {
    albums = await api('/api/v1/albums');
  } catch (error) {
    report(error);
    return;
  }
  albumList.replaceChildren(...albums.map((album) => el('li', { class: 'album', 'aria-label': `Album: ${album.name}` },
    el('span', { class: 'album-name', text: album.name }),
    el('span', { class: 'hint', text: plural(album.image_count, 'image') }),
    el('span', { class: 'inline' },
      el('button', { type: 'button', class: 'small', text: 'Open', onclick: () => showAlbum(album) }),
      el('button', { type: 'button', class: 'small', text: 'Rename', onclick: () => renameAlbum(album) }),
      el('button', { type: 'button', class: 'small danger', text: 'Delete', onclick: () => deleteAlbum(album) })))));
  $('albums-empty').hidden = albums.length > 0;
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
  try {
    await api(`/api/v1/albums/${path(album.id)}`, { method: 'PATCH', body: { name: name.trim() } });
  } catch (error) {
    report(error);
  }
  await loadAlbums();
}

async function deleteAlbum(album) {
  if (!window.confirm(`Delete the album “${album.name}”? Its images are kept.`)) return;
  try {
    await api(`/api/v1/albums/${path(album.id)}`, { method: 'DELETE' });
    if (openAlbum && openAlbum.id === album.id) closeAlbum();
  } catch (error) {
    report(error);
  }
  await loadAlbums();
}

async function removeFromAlbum(image) {
  try {
    await api(`/api/v1/albums/${path(openAlbum.id, 'images', image.id)}`, { method: 'DELETE' });
  } catch (error) {
    report(error);
  }
  await Promise.all([albumImages.reset(), loadAlbums()]);
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
  if (activeView === 'images') myImages.reset();
  else if (activeView === 'gallery') gallery.reset();
  else if (activeView === 'albums') {
    loadAlbums();
    if (openAlbum) albumImages.reset();
  }
});

export function resetLibrary() {
  activeView = null;
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
let current = null;
let full = { id: null, url: null };
let changed = false;

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

function renderDetail() {
  const { image, owner } = current;
  const rows = [
    ['Prompt', image.prompt],
    ['Negative prompt', image.negative_prompt || '—'],
    ['Style', image.style],
    ['Resolution', resolutionText(image)],
    ['Seed', image.seed],
    ['Steps', image.steps],
    ['Guidance', image.guidance],
    ['Scheduler', image.scheduler],
    ['Tokens', image.tokens_cost],
    ['Status', STATUS_TEXT[image.status] || image.status],
    ['Created', when(image.created_at)],
    ['Completed', when(image.completed_at)],
    ['Public', image.is_public ? 'Yes' : 'No'],
    owner ? ['Favorite', image.is_favorite ? 'Yes' : 'No'] : null,
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
  favorite.textContent = image.is_favorite ? 'Unfavorite' : 'Favorite';
  favorite.setAttribute('aria-pressed', String(image.is_favorite));
  visibility.textContent = image.is_public ? 'Make private' : 'Make public';
}

async function loadFull(image) {
  dropFull();
  full = { id: image.id, url: null };
  detailState.textContent = 'Loading the image…';
  try {
    const url = await objectUrl(image.storage_url);
    if (full.id !== image.id || !dialog.open) {
      if (url.startsWith('blob:')) URL.revokeObjectURL(url);
      return;
    }
    full.url = url;
    detailImage.src = url;
    detailImage.hidden = false;
    download.href = url;
    download.download = `nexus-image-${image.id}.png`;
    download.hidden = false;
    detailState.textContent = '';
  } catch (error) {
    if (full.id !== image.id) return;
    detailState.textContent = 'The image could not be loaded.';
    detailError(error);
  }
}

function dropFull() {
  if (full.url && full.url.startsWith('blob:')) URL.revokeObjectURL(full.url);
  full = { id: null, url: null };
  detailImage.hidden = true;
  detailImage.removeAttribute('src');
  download.hidden = true;
  download.removeAttribute('href');
}

async function loadAlbumChoices() {
  try {
    const list = await api('/api/v1/albums');
    albumChoice.replaceChildren(...list.map((album) => el('option', { value: album.id, text: album.name })));
    if (!list.length) albumChoice.append(el('option', { value: '', text: 'No albums yet: create one under Albums' }));
    addToAlbum.disabled = !list.length;
  } catch (error) {
    detailError(error);
  }
}

on('open-image', ({ image, owner }) => {
  current = { image, owner };
  detailError(null);
  detailMessage('');
  renderDetail();
  if (!dialog.open) dialog.showModal();
  if (owner) loadAlbumChoices();
});

dialog.addEventListener('close', () => {
  dropFull();
  current = null;
  if (changed) emit('images-changed');
  changed = false;
});
$('detail-close').addEventListener('click', () => dialog.close());

// Runs an action on the shown image, then shows the image as the server now has it.
async function act(action, done) {
  if (!current) return;
  const { image } = current;
  detailError(null);
  detailMessage('');
  try {
    await action(image);
    changed = true;
    const fresh = await api(`/api/v1/images/${path(image.id)}`);
    if (current && current.image.id === image.id) {
      current.image = fresh;
      renderDetail();
      detailMessage(done);
    }
  } catch (error) {
    if (current) detailError(error);
  }
}

favorite.addEventListener('click', () => {
  const liked = current && current.image.is_favorite;
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
  const { id } = current.image;
  try {
    await api(`/api/v1/images/${path(id)}`, { method: 'DELETE' });
    changed = true;
    dialog.close();
    emit('image-deleted', { id });
  } catch (error) {
    detailError(error);
  }
});

$('detail-reuse').addEventListener('click', () => {
  if (!current) return;
  const { image } = current;
  dialog.close();
  emit('reuse', image);
});

// Albums: create, rename and delete them, and open one to see (and remove) its images.
import { api, sessionMark, describe, path, ApiError } from './api.js';
import { on } from './bus.js';
import { $, el, showError, report } from './dom.js';
import { Pager, cell } from './pager.js';

const albumList = $('album-list');
const albumName = $('album-name');
const albumSection = $('album-open');
const albumTitle = $('album-open-title');
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
let albums = [];
let openAlbum = null;
let albumsSeq = 0;
let shown = false;

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

const setAlbumError = (message) => showError($('album-name-error'), message, albumName);

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
  albumList.replaceChildren(...albums.map(albumItem));
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

function albumItem(album) {
  const button = (action, text, onclick, extra = '') => el('button', {
    type: 'button', class: `small${extra}`, text, 'aria-label': `${text}: ${album.name}`, 'data-action': action, onclick,
  });
  return el('li', { class: 'album', 'data-id': album.id, 'aria-label': `Album: ${album.name}` },
    el('span', { class: 'album-name', text: album.name }),
    el('span', { class: 'hint', text: plural(album.image_count, 'image') }),
    el('span', { class: 'inline' },
      button('open', 'Open', () => showAlbum(album)),
      button('rename', 'Rename', () => renameAlbum(album)),
      button('delete', 'Delete', () => deleteAlbum(album), ' danger')));
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

on('view', ({ view }) => {
  shown = view === 'albums';
  if (!shown) return;
  loadAlbums();
  if (openAlbum) albumImages.reset();
});

on('images-changed', () => {
  if (!shown) return;
  loadAlbums();
  if (openAlbum) albumImages.reload();
});

on('signed-out', () => {
  shown = false;
  albumsSeq += 1;
  closeAlbum();
  albums = [];
  albumList.replaceChildren();
  setAlbumError('');
});

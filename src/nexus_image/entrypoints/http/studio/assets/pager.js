// A grid of images loaded a page at a time ("Load more"), and its cells. Only the latest request
// counts: one made before a reset (or a sign-out) is dropped, and an image already shown (pages
// shift when images are added or removed in between) is not shown twice.
import { api, sessionMark, owns } from './api.js';
import { emit, on } from './bus.js';
import { el, report } from './dom.js';
import { registerGrid, rememberGridCell, settleFocus } from './grid-focus.js';
import { statusText, thumbnailUrl } from './image-facts.js';
import { showImage, releaseWithin } from './pictures.js';

const PAGE_SIZE = 20;

export class Pager {
  constructor({ list, more, summary, url, item = (image) => cell(image), filter = () => true, empty }) {
    Object.assign(this, { list, more, summary, url, item, filter, empty });
    this.loading = false;
    this.clear();
    more.addEventListener('click', () => this.next());
    registerGrid(this);
  }

  clear() {
    this.seq = (this.seq || 0) + 1;
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

  // Loaded again because its images changed: a focused cell gets focus back.
  reload() {
    rememberGridCell();
    return this.reset();
  }

  async next() {
    if (this.loading) return;
    const { seq } = this;
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

// A grid cell: the thumbnail (or the status, until there is one) opening the details, and badges.
// Keeps `grid` in step with its screen: loaded afresh when `view` is shown, reloaded when images
// change while it is, emptied (and `onSignOut` run) at sign-out.
export function followView(grid, view, { onSignOut } = {}) {
  let shown = false;
  on('view', ({ view: now }) => {
    shown = now === view;
    if (shown) grid.reset();
  });
  on('images-changed', () => {
    if (shown) grid.reload();
  });
  on('signed-out', () => {
    shown = false;
    grid.clear();
    if (onSignOut) onSignOut();
  });
}

export function cell(image, { extra = [] } = {}) {
  const owner = owns(image);
  const url = thumbnailUrl(image);
  let content;
  if (url) {
    content = el('img', { alt: image.prompt, loading: 'lazy', width: image.width, height: image.height });
    showImage(content, url).catch(report);
  } else {
    content = [
      el('span', { class: 'thumb-status', text: statusText(image) }),
      el('span', { class: 'thumb-prompt', text: image.prompt }),
    ];
  }
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image }) }, content);
  const caption = el('p', { class: 'caption' },
    owner ? null : el('span', { text: `by ${image.user_id}` }),
    owner && image.is_favorite ? el('span', { class: 'badge', text: '★ Favorite' }) : null,
    owner && image.is_public ? el('span', { class: 'badge', text: 'Public' }) : null);
  return el('li', { class: 'cell', 'data-id': image.id, 'data-status': image.status.toLowerCase() }, open, caption, ...extra);
}

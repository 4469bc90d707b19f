// The gallery: public images of every user, newest first.
import { on } from './bus.js';
import { $ } from './dom.js';
import { Pager } from './pager.js';

let shown = false;

const grid = new Pager({
  list: $('gallery-grid'), more: $('gallery-more'), summary: $('gallery-summary'),
  url: (page, size) => `/api/v1/images/public?page=${page}&size=${size}`,
  empty: 'No public images yet.',
});

on('view', ({ view }) => {
  shown = view === 'gallery';
  if (shown) grid.reset();
});

on('images-changed', () => {
  if (shown) grid.reload();
});

on('signed-out', () => {
  shown = false;
  grid.clear();
});

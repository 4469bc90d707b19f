// The gallery: public images of every user, newest first.
import { $ } from './dom.js';
import { Pager, followView } from './pager.js';

const grid = new Pager({
  list: $('gallery-grid'), more: $('gallery-more'), summary: $('gallery-summary'),
  url: (page, size) => `/api/v1/images/public?page=${page}&size=${size}`,
  empty: 'No public images yet.',
});

followView(grid, 'gallery');

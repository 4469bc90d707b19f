// My images: the user's images (or favorites only), newest first; "Public only" filters those
// loaded.
import { $ } from './dom.js';
import { Pager, followView } from './pager.js';

const favoritesOnly = $('favorites-only');
const publicOnly = $('public-only');

const grid = new Pager({
  list: $('images-grid'), more: $('images-more'), summary: $('images-summary'),
  url: (page, size) => `/api/v1/images/${favoritesOnly.checked ? 'favorites' : 'user/me'}?page=${page}&size=${size}`,
  filter: (image) => !publicOnly.checked || image.is_public,
  empty: 'No images here yet.',
});

favoritesOnly.addEventListener('change', () => grid.reset());
publicOnly.addEventListener('change', () => grid.refilter());

followView(grid, 'images', {
  onSignOut: () => {
    favoritesOnly.checked = false;
    publicOnly.checked = false;
  },
});

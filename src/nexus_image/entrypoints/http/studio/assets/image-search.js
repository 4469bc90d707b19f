// Search in My images and in the Gallery: words of the prompt and filters, sent to
// /api/v1/images/search or /api/v1/gallery/search. While a search is on, its results (a page at a
// time, by the answer's cursor) take the place of the plain listing; "Clear search" brings the
// listing back. On My images, "Favorites only" and "Public only" apply to the search too.
import { api, session, sessionMark } from './api.js';
import { on } from './bus.js';
import { $, el, report, showError } from './dom.js';
import { choiceName } from './form-fields.js';
import { Pager, cell } from './pager.js';

const PAGE_SIZE = 20;

// A grid of search results: pages follow each other by `next_cursor`, not by number.
class SearchPager extends Pager {
  clear() {
    super.clear();
    this.cursor = null;
  }

  async next() {
    if (this.loading || !this.query) return;
    const { seq } = this;
    const stale = sessionMark();
    this.loading = true;
    this.more.disabled = true;
    try {
      const params = new URLSearchParams(this.query);
      params.set('limit', String(PAGE_SIZE));
      if (this.cursor) params.set('cursor', this.cursor);
      const data = await api(`${this.path}?${params}`);
      if (seq !== this.seq || stale()) return;
      this.cursor = data.next_cursor;
      this.done = !data.next_cursor;
      const fresh = data.items.filter((image) => !this.ids.has(image.id));
      fresh.forEach((image) => this.ids.add(image.id));
      this.items.push(...fresh);
      this.total = this.items.length;
      this.list.append(...fresh.map(this.item));
      this.summarise();
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.summary.textContent = '';
      this.onError(error);
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.more.disabled = false;
      }
    }
  }

  summarise() {
    const found = this.items.length;
    this.more.hidden = this.done;
    if (found === 0) this.summary.textContent = 'No images match.';
    else this.summary.textContent = `${found} ${found === 1 ? 'image matches' : 'images match'}${this.done ? '' : ' so far'}.`;
  }
}

// The words and filters the form holds, as query parameters (empty ones left out).
function queryOf(form, extra) {
  const query = {};
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (text && !(name === 'sort' && text === 'date')) query[name] = text;
  }
  return { ...query, ...extra() };
}

// One control per field marked searchable in /studio/config's `fields` (named by its `search`),
// before the form's own date and order controls: a field made searchable shows up here too.
function filterControl(field) {
  if (field.kind === 'choice') {
    const any = el('option', { value: '', text: 'Any' });
    const choices = field.choices.map((value) => el('option', { value, text: choiceName(value) }));
    return el('select', { name: field.search }, [any, ...choices]);
  }
  if (field.kind === 'integer') {
    return el('input', { name: field.search, type: 'number', min: String(field.min), max: String(field.max), step: '1', inputmode: 'numeric' });
  }
  return el('input', { name: field.search, type: 'text', autocomplete: 'off', placeholder: 'Any (by name)' });
}

function buildFilters(form, fields) {
  if (form.querySelector('[data-search-filter]')) return;
  const anchor = form.elements.namedItem('created_from').closest('label');
  for (const field of fields.filter((f) => f.search)) {
    const label = el('label', { 'data-search-filter': field.search }, [`${field.label} filter `, filterControl(field)]);
    anchor.before(label);
  }
}

function setupSearch({ view, path, extra = () => ({}), extraInputs = [] }) {
  const form = $(`${view}-search`);
  const results = $(`${view}-results`);
  const listing = $(`${view}-listing`);
  const errorBox = $(`${view}-search-error`);
  const clearButton = form.querySelector('[data-action="clear"]');
  const grid = new SearchPager({
    list: $(`${view}-results-grid`), more: $(`${view}-results-more`), summary: $(`${view}-results-summary`),
    url: () => path, item: (image) => cell(image), empty: 'No images match.',
  });
  grid.path = path;
  grid.query = null;
  grid.onError = (error) => {
    const field = error.problem && error.problem.field;
    const control = field ? form.elements.namedItem(field) : null;
    if (control && control.closest('details')) control.closest('details').open = true;
    showError(errorBox, error.problem ? error.message : '', control instanceof Element ? control : null);
    if (!error.problem) report(error);
  };
  let active = false;

  function show(searching) {
    active = searching;
    results.hidden = !searching;
    listing.hidden = searching;
    clearButton.hidden = !searching;
  }

  function run() {
    for (const control of form.elements) control.removeAttribute('aria-invalid');
    showError(errorBox, '');
    const query = queryOf(form, extra);
    if (Object.keys(query).length === 0) {
      stop();
      return;
    }
    grid.query = query;
    show(true);
    grid.reset();
  }

  function stop() {
    grid.query = null;
    grid.clear();
    show(false);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  clearButton.addEventListener('click', () => {
    form.reset();
    showError(errorBox, '');
    stop();
    $(`${view}-q`).focus();
  });
  extraInputs.forEach((input) => input.addEventListener('change', () => { if (active) run(); }));
  on('view', ({ view: now }) => {
    if (now !== view) return;
    buildFilters(form, (session.config || {}).fields || []);
    if (active) grid.reset();
  });
  on('images-changed', () => { if (active && !results.closest('[hidden]')) grid.reset(); });
  on('signed-out', () => {
    form.reset();
    showError(errorBox, '');
    stop();
  });
}

const favoritesOnly = $('favorites-only');
const publicOnly = $('public-only');

setupSearch({
  view: 'images',
  path: '/api/v1/images/search',
  extra: () => ({ ...(favoritesOnly.checked ? { favorite: 'true' } : {}), ...(publicOnly.checked ? { public: 'true' } : {}) }),
  extraInputs: [favoritesOnly, publicOnly],
});
setupSearch({ view: 'gallery', path: '/api/v1/gallery/search' });


// Where focus goes once the details dialog closes: back to the cell it was opened from. The
// browser does that itself unless the cell was removed (a grid is rebuilt when something
// changed): then the cell with the same id gets it once the grid has loaded again, or the grid's
// heading if it is gone.
import { $ } from './dom.js';

const dialog = $('detail');
const grids = []; // the pagers, whose lists are the grids
let returnTo = null; // {list, id}: the cell to come back to

export const registerGrid = (pager) => grids.push(pager);

const cellOf = (node) => (node && node.closest ? node.closest('li[data-id]') : null);

// The dialog opens: the list item focused now (a grid's cell, a job) is where focus returns.
export function rememberOpener() {
  const origin = cellOf(document.activeElement);
  returnTo = origin && origin.parentElement ? { list: origin.parentElement, id: origin.dataset.id } : null;
}

// A grid is about to be rebuilt: its focused cell (if any) gets focus back once it is loaded.
export function rememberGridCell() {
  if (dialog.open) return; // the dialog's opener is remembered already
  const origin = cellOf(document.activeElement);
  if (origin && grids.some((pager) => pager.list === origin.parentElement)) {
    returnTo = { list: origin.parentElement, id: origin.dataset.id };
  }
}

export const forgetCell = () => { returnTo = null; };

export function settleFocus() {
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
  const pager = grids.find((candidate) => candidate.list === target.list);
  if (pager && pager.loading) return; // tried again once the page is in
  returnTo = null;
  const heading = $(target.list.getAttribute('aria-labelledby'));
  if (heading && !heading.closest('[hidden]')) {
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus();
  }
}

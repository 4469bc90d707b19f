// Errors shown next to the generation form's fields: in `<id>-error`, the control marked invalid
// and, when it is folded in a <details>, shown. `field` is an API field name, or `generate` for
// the form as a whole.
import { $ } from './dom.js';
import { controlId } from './form-fields.js';

const submitButton = $('generate-button');

export const hasErrorBox = (field) => Boolean($(`${controlId(field)}-error`));

// Returns the control, to focus.
export function fieldError(field, message) {
  const id = controlId(field);
  const box = $(`${id}-error`);
  box.textContent = message;
  box.hidden = false;
  const control = $(id);
  if (control && control !== submitButton) control.setAttribute('aria-invalid', 'true');
  const group = control && control.closest('details');
  if (group) group.open = true; // the field and its error are shown, not folded away
  return control;
}

export function clearError(field) {
  const id = controlId(field);
  const box = $(`${id}-error`);
  if (!box) return;
  box.textContent = '';
  box.hidden = true;
  const control = $(id);
  if (control) control.removeAttribute('aria-invalid');
}

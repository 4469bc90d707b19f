// How the screens talk without importing each other:
// 'signed-in', 'signed-out' (each module starts or forgets its part), 'view' {view} (the view
// shown), 'balance' (refresh the token balance and the account), 'account' account (GET /account's
// answer, as the header got it), 'images-changed', 'image-deleted' {id},
// 'open-image' {image}, 'reuse' image, 'remix' image, 'jobs-created' {images} (new jobs to
// follow), 'navigate' {view, focus}.
const bus = new EventTarget();

export const emit = (name, detail) => bus.dispatchEvent(new CustomEvent(name, { detail }));
export const on = (name, handler) => bus.addEventListener(name, (event) => handler(event.detail));

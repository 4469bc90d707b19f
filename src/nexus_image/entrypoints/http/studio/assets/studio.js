// The studio: loads its configuration, then the screens (each module wires its own part of the
// page; they talk through bus.js).
import { api, session, describe } from './api.js';
import { $, showBanner } from './dom.js';
import './header.js';
import { setupModels } from './models.js';
import { resumeOrSignIn } from './sign-in.js';
import { setupGenerate } from './generate.js';
import './my-images.js';
import './albums.js';
import './gallery.js';
import './image-search.js';
import './integrations.js';
import './account.js';
import './operator.js';
import './image-details.js';
import { offerUpscalers } from './image-actions.js';

async function start() {
  try {
    session.config = await api('/studio/config', { token: null });
  } catch (error) {
    $('view-signin').hidden = true;
    showBanner(`The studio could not load its configuration (${describe(error)}). Reload the page to try again.`);
    return;
  }
  setupGenerate(session.config);
  offerUpscalers((session.config.upscalers || ['lanczos']).filter((name) => name !== 'latent')); // latent: hires only
  setupModels(session.config); // after the form: a download that ends refreshes its model field
  await resumeOrSignIn(session.config);
}

start();

// Entry point: mount the macro into the page Forge renders in the macro's iframe.
import { mount } from './app.js';

mount(document.getElementById('app'));

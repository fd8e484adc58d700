// The draw & recognise page: everything it needs is shared with the contribute page.

import { setUpDrawingPage } from './drawing-page.js';

setUpDrawingPage();

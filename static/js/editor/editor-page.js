// The tool editor page (templates/editor/edit.html loads only this module): the editor's core,
// its buttons, the sandbox panel and the version history, started in that order.
import { wireButtons } from "./buttons.js";
import { startEditor } from "./core.js";
import { startHistory } from "./history.js";
import { startSandboxPanel } from "./sandbox-panel.js";

const ready = startEditor();
wireButtons(ready);
startSandboxPanel(ready);
startHistory(ready);

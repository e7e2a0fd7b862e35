import init from "./countersign_ui.js";
init();

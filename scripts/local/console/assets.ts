/**
 * The console's only stylesheet and script, served from `/_console/assets/` (the page policy allows
 * nothing else: no inline script or style, no other origin, so it works offline).
 */

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2433; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1rem; background: #1d2433; color: #fff; }
header nav { display: flex; gap: 1rem; align-items: center; }
header a { color: #cfe0ff; text-decoration: none; }
header a:hover { text-decoration: underline; }
main { padding: 1rem 1.5rem; }
h1 { font-size: 1.4rem; margin-top: 0; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; background: #fff; margin: .4rem 0 1rem; }
th, td { border: 1px solid #d5d9e0; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #eceff3; }
pre { background: #fff; border: 1px solid #d5d9e0; padding: .6rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
td pre { max-height: 12rem; margin: 0; }
form.inline { display: inline; }
form.operation { background: #fff; border: 1px solid #d5d9e0; padding: .8rem; max-width: 52rem; }
.field { display: grid; grid-template-columns: 14rem 1fr; gap: .2rem .8rem; margin-bottom: .6rem; }
.field .hint { grid-column: 2; color: #5a6478; }
textarea, input[type=text], input[type=number], input[type=password], select { font: inherit; padding: .25rem; width: 100%; box-sizing: border-box; }
textarea.json { font-family: ui-monospace, monospace; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
.status { font-weight: bold; }
.ok, .status-ok, .status-SUCCEEDED, .state-ready { color: #116b2f; }
.bad, .status-bad, .status-FAILED, .status-TIMED_OUT, .status-ABORTED, .state-failed { color: #a3111b; }
.status-RUNNING { color: #8a5a00; }
.empty { color: #5a6478; }
.flash { background: #fff6d6; border: 1px solid #e6cf7a; padding: .5rem .8rem; }
.diagram { overflow: auto; background: #fff; border: 1px solid #d5d9e0; margin-bottom: 1rem; }
.diagram .state rect { fill: #f2f4f7; stroke: #8792a6; }
.diagram .state.task rect { fill: #e8f0ff; }
.diagram .state.choice rect { fill: #fff7e0; }
.diagram .state.fail rect { fill: #fdeaea; }
.diagram .state.succeed rect { fill: #e7f6ea; }
.diagram .state.visited rect { stroke: #116b2f; stroke-width: 3; }
.diagram .state.failed rect { stroke: #a3111b; stroke-width: 3; fill: #f9c9cc; }
.diagram text { font-size: 12px; fill: #1d2433; }
.diagram text.type { font-size: 10px; fill: #5a6478; }
.diagram .edge { stroke: #9aa3b5; stroke-width: 1.2; }
.diagram .edge.catch { stroke-dasharray: 4 3; }
.diagram .edge.taken { stroke: #116b2f; stroke-width: 2.5; }
.diagram marker path { fill: #9aa3b5; }
`;

export const CONSOLE_JS = `
'use strict';
// A run can take a while (a cold function, a retrying provider): say so instead of looking stuck.
document.addEventListener('submit', (event) => {
  const button = event.target instanceof HTMLFormElement ? event.target.querySelector('button[type=submit]') : null;
  if (button) {
    button.disabled = true;
    button.textContent = 'Running…';
  }
});
`;

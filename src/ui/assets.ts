// The UI's only static files, served under /ui/assets (the CSP allows styles and scripts from
// 'self' only: no inline style or script anywhere in the pages).
export const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --panel: #f6f8fa;
  --ok: #116329; --okbg: #dafbe1; --bad: #a40e26; --badbg: #ffebe9; --warn: #7d4e00; --warnbg: #fff8c5;
  --info: #0a3069; --infobg: #ddf4ff; --link: #0550ae; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
a { color: var(--link); }
a:focus, button:focus, input:focus, summary:focus { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -1000px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; }
.who { margin-left: auto; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; font-size: .9rem; }
main { padding: 1rem; max-width: 78rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: .5rem 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .75rem; overflow-x: auto; }
.muted { color: var(--muted); }
.board { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; list-style: none;
  padding: 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; background: var(--bg); }
.card h2 { margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .85rem; font-weight: 600;
  border: 1px solid; }
.badge.ok { color: var(--ok); background: var(--okbg); }
.badge.bad { color: var(--bad); background: var(--badbg); }
.badge.warn { color: var(--warn); background: var(--warnbg); }
.badge.info { color: var(--info); background: var(--infobg); }
ol.timeline { list-style: none; padding: 0; border-left: 3px solid var(--line); margin-left: .5rem; }
ol.timeline > li { margin: 0 0 1rem 0; padding-left: 1rem; position: relative; }
ol.timeline > li::before { content: ""; position: absolute; left: -.55rem; top: .45rem; width: .8rem; height: .8rem;
  border-radius: 50%; background: var(--line); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.scroll { overflow-x: auto; }
ul.checklist { list-style: none; padding: 0; }
ul.checklist li { margin: .2rem 0; }
ins { background: var(--okbg); text-decoration: none; }
del { background: var(--badbg); }
form.inline { display: inline; }
button { font: inherit; padding: .35rem .9rem; border-radius: 6px; border: 1px solid #1f883d; background: #1f883d;
  color: #fff; cursor: pointer; }
button.danger { background: var(--bg); color: var(--bad); border-color: var(--bad); }
textarea { display: block; font: inherit; width: 100%; max-width: 32rem; padding: .4rem; margin-bottom: .4rem;
  border: 1px solid var(--muted); border-radius: 6px; }
.struck, .struck * { text-decoration: line-through; }
button.secondary { background: var(--bg); color: var(--fg); border-color: var(--line); }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type="password"] { font: inherit; width: 100%; max-width: 32rem; padding: .4rem;
  border: 1px solid var(--muted); border-radius: 6px; }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--info); padding: .5rem 1rem;
  background: var(--panel); }
.notice.error { border-left-color: var(--bad); }
.notice.success { border-left-color: var(--ok); }
.empty { border: 1px dashed var(--muted); padding: 1rem; border-radius: 6px; }
@media (max-width: 40rem) { main { padding: .5rem; } dl.facts { grid-template-columns: 1fr;
  } dl.facts dd { margin-bottom: .3rem; } }
`;

// Progressive enhancement only: every page reads and works without it. The board refreshes
// itself every 30 seconds while visible (its "as of" time says when it was rendered).
export const JS = `
(function () {
  var el = document.querySelector('[data-refresh]');
  if (!el) return;
  var seconds = Number(el.getAttribute('data-refresh')) || 30;
  setInterval(function () { if (document.visibilityState === 'visible') location.reload(); }, seconds * 1000);
})();
`;

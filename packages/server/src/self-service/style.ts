import { createHash } from 'node:crypto';

/**
 * The self-service page's own stylesheet, inlined so the page needs nothing else; the CSP allows
 * exactly this text by its hash. Colours keep WCAG AA contrast on white or better (body text
 * about 15:1, secondary text and links above 7:1, white on the buttons above 7:1), every
 * focusable element shows a visible focus ring, and the site's stylesheet comes after it so
 * that it can override any of it.
 */
export const PAGE_CSS = `
:root { --ink: #1a1f2e; --muted: #474f61; --line: #c9ceda; --soft: #f3f4f8; --accent: #1f3fbf; --accent-ink: #ffffff;
  --danger: #a4161a; --ok-ink: #0d5a2a; --ok-bg: #e5f5ea; --err-ink: #8a1116; --err-bg: #fdecec; --focus: #1f3fbf;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 16px; line-height: 1.55; color: var(--ink); background: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0; }
.skip { position: absolute; left: -9999px; top: 0; }
.skip:focus { left: 1rem; top: 1rem; background: #ffffff; padding: 0.5rem 1rem; z-index: 10; }
.site-header, main, .site-footer { max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem; }
.site-header { display: flex; align-items: center; gap: 0.75rem; border-bottom: 1px solid var(--line); }
.site-header img { max-height: 3rem; max-width: 12rem; }
.site-name { font-weight: 650; font-size: 1.15rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 1rem 0 0.5rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.75rem; }
section { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1.25rem 0; }
p { margin: 0.5rem 0; }
.muted { color: var(--muted); }
a { color: var(--accent); text-decoration: underline; text-underline-offset: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
dl.facts { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 0.35rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; white-space: pre-line; }
.field { margin: 0 0 1rem; }
.field label, .field .label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
input[type=text], input[type=tel], textarea, select { font: inherit; color: var(--ink); background: #ffffff; width: 100%; max-width: 30rem;
  padding: 0.5rem 0.6rem; border: 2px solid #6b7385; border-radius: 6px; }
textarea { min-height: 5rem; }
input[aria-invalid=true], textarea[aria-invalid=true] { border-color: var(--danger); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1rem; padding: 0.75rem 1rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
.choice { display: inline-flex; align-items: center; gap: 0.4rem; margin: 0.25rem 1.5rem 0.25rem 0; }
.choice input { width: 1.2rem; height: 1.2rem; }
.hint { display: block; color: var(--muted); font-size: 0.93rem; margin: 0.15rem 0 0.4rem; }
button, .button { font: inherit; font-weight: 600; display: inline-block; padding: 0.55rem 1.1rem; border-radius: 6px; border: 2px solid var(--accent);
  background: var(--accent); color: var(--accent-ink); cursor: pointer; text-decoration: none; }
.button-quiet { background: #ffffff; color: var(--accent); }
.button-danger { background: var(--danger); border-color: var(--danger); color: #ffffff; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; margin-top: 0.75rem; }
.notice { background: var(--ok-bg); color: var(--ok-ink); border-left: 4px solid var(--ok-ink); padding: 0.6rem 0.9rem; border-radius: 4px; }
.problem { background: var(--err-bg); color: var(--err-ink); border-left: 4px solid var(--err-ink); padding: 0.6rem 0.9rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.4rem; }
th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { overflow-wrap: anywhere; }
ul.plain { padding-left: 1.2rem; margin: 0.25rem 0; }
.site-footer { color: var(--muted); font-size: 0.9rem; border-top: 1px solid var(--line); margin-top: 2rem; }
@media (prefers-reduced-motion: no-preference) { html { scroll-behavior: smooth; } }
`;

/** The CSP source that allows `PAGE_CSS` in an inline `<style>` and nothing else inline. */
export const PAGE_CSS_SOURCE = `'sha256-${createHash('sha256').update(PAGE_CSS, 'utf8').digest('base64')}'`;

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { assets } from './server.js';

/** Helpers of the self-contained HTML pages (the paper report): escaping, inlined scripts and their CSP hashes. */

/** Every value from the database goes through this before it is written into HTML (a crafted file is input). */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A script's text as inlined: no `</script` inside, CR LF as the HTML parser gives it (the CSP hash is over that). */
export const scriptText = (js: string) => js.replace(/\r\n?/g, '\n').replace(/<\/script/gi, '<\\/script');

export const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** JSON inside a <script type="application/json">: escape '<' so no tag can start. */
export const inlineJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** The Vega, Vega-Lite and vega-embed bundles, as files (to keep --out off them) and as text. */
export const vendorFiles = ['/vendor/vega.min.js', '/vendor/vega-lite.min.js', '/vendor/vega-embed.min.js'].map((p) => assets[p]!.file);
export const vendorScripts = (): string[] => vendorFiles.map((f) => readFileSync(f, 'utf8'));

/**
 * Draws every chart of a page: the specs are the JSON in #chart-specs, each drawn into #chart-ID; marks the element
 * (data-rendered) and then the body (data-ready) when done, which the tests wait for.
 */
const chartBootstrap = `
(function () {
  var charts = JSON.parse(document.getElementById('chart-specs').textContent);
  var pending = charts.map(function (c) {
    var el = document.getElementById('chart-' + c.id);
    return vegaEmbed(el, c.spec, { renderer: 'svg', actions: false, ast: true }).then(function () { el.dataset.rendered = 'true'; });
  });
  Promise.all(pending).then(function () { document.body.dataset.ready = 'true'; });
})();`;

/** The scripts a self-contained chart page inlines (Vega bundles, then the bootstrap), as the browser sees them. */
export const chartPageScripts = (): string[] => [...vendorScripts(), chartBootstrap].map(scriptText);

/** The page's Content-Security-Policy: only these exact scripts run (hashes), no eval, no network. */
export function contentSecurityPolicy(scripts: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

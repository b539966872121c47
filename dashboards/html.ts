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

/**
 * Serves the installer web console (static files in ./console/) with a strict CSP.
 * The pages hold no data: every number comes from /api/* with the installer token,
 * which the page keeps in sessionStorage (given once in the URL fragment, never sent in a URL).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
// From source: src/api/console; from a build (dist/src/api/), tsc does not copy the plain files: the checkout's src/api/console.
const DIR = [join(HERE, "console"), join(HERE, "..", "..", "..", "src", "api", "console")].find((d) => existsSync(join(d, "index.html")));
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };
/** The console's files, read once: /console is index.html, /console/<name>.js|css the modules and the style sheet. */
const FILES = new Map<string, { body: Buffer; type: string }>();
for (const file of DIR === undefined ? [] : readdirSync(DIR)) {
  const ext = /\.(html|js|css)$/.exec(file)?.[1];
  if (ext === undefined || !/^[a-z][a-z0-9-]*\.[a-z]+$/.test(file)) continue;
  const path = file === "index.html" ? "/console" : `/console/${file}`;
  FILES.set(path, { body: readFileSync(join(DIR!, file)), type: TYPES[ext]! });
}

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Answers a console path; false when the path is not the console's. */
export function serveConsole(path: string, res: ServerResponse): boolean {
  const entry = FILES.get(path === "/console/" ? "/console" : path);
  if (!entry) return false;
  const body = entry.body;
  res.writeHead(200, {
    "content-type": entry.type,
    "content-security-policy": CONSOLE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  });
  res.end(body);
  return true;
}

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
/**
 * Beside this module: src/api/console from source, dist/src/api/console in a build (`npm run
 * build` copies the plain files there after tsc, so a compiled hub needs no src/).
 */
export const CONSOLE_DIR = join(HERE, "console");
const DIR = existsSync(join(CONSOLE_DIR, "index.html")) ? CONSOLE_DIR : undefined;
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
  const page = path === "/console/" ? "/console" : path;
  if (DIR === undefined && page === "/console") {
    // A build made without `npm run build`'s copy step: say so rather than a bare 404.
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    res.end(`the console's files are missing from ${CONSOLE_DIR}: build with npm run build (it copies src/api/console there)\n`);
    return true;
  }
  const entry = FILES.get(page);
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

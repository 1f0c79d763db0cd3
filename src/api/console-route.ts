/**
 * Serves the installer web console (static files in ./console/) with a strict CSP.
 * The pages hold no data: every number comes from /api/* with the installer token,
 * which the page keeps in sessionStorage (given once in the URL fragment, never sent in a URL).
 */
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "console");
const FILES: Record<string, { file: string; type: string }> = {
  "/console": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/console/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Answers a console path; false when the path is not the console's. */
export function serveConsole(path: string, res: ServerResponse): boolean {
  const entry = FILES[path];
  if (!entry) return false;
  const body = readFileSync(join(DIR, entry.file));
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

#!/usr/bin/env node
// Entry point. In a checkout (src/ present) TypeScript runs through tsx, so
// `npx lockbridge run` works right after `npm ci`; a built package runs dist/.
// LOCKBRIDGE_RUNTIME=dist (set by the systemd unit) runs the compiled dist/ even beside src/,
// so an installed hub starts without on-the-fly compilation.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wantsDist = process.env.LOCKBRIDGE_RUNTIME === "dist";
if (wantsDist && !existsSync(join(root, "dist", "src", "cli", "main.js"))) {
  console.error("LOCKBRIDGE_RUNTIME=dist but dist/ is not built: run `npm run build`");
  process.exit(1);
}
const fromSource = !wantsDist && existsSync(join(root, "src", "cli", "main.ts"));
if (fromSource) {
  const { register } = await import("tsx/esm/api");
  register();
}
const isSim = process.argv[2] === "sim";
const entry = fromSource
  ? join(root, isSim ? "sim/cli.ts" : "src/cli/main.ts")
  : join(root, "dist", isSim ? "sim/cli.js" : "src/cli/main.js");
if (isSim) process.argv.splice(2, 1);
const mod = await import(pathToFileURL(entry).href);
await mod.main(process.argv.slice(2));

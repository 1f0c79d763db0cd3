/**
 * For a describe block of store file tests: `storeFileIn()` is a fresh store path in its own
 * temp dir; every dir made is removed after each test.
 */
import path from "node:path";
import { afterEach } from "vitest";
import { tempDir } from "./store.js";

export function tempStoreFiles(): () => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  return () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    return path.join(dir, "lockbridge.db");
  };
}

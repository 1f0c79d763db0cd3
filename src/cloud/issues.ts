/**
 * A refused payload explained: every problem, the first one's path for the contract's
 * `path`, and "did you mean" for a misspelt field (an unknown `checkedin` next to a
 * `checkedIn` the schema knows is one mistake, reported as such and first).
 */
import type { z } from "zod";
import { didYouMean, knownKeys } from "../shared/did-you-mean.js";
// A function import only (called after both modules loaded): schemas.ts imports this module.
import { echo } from "./schemas.js";

export interface DescribedIssues {
  /** The first bad field ("doors[0].doorId"). */
  path: string;
  /** Every problem, the first one first: "checkedin: unknown field (did you mean "checkedIn"?); ...". */
  message: string;
}

const MAX_LISTED = 5;

/** A zod issue path as the contract's `path`: `doors[0].accessPeriod.from`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function describeIssues(error: z.ZodError, schema?: z.ZodType): DescribedIssues {
  const items: { path: string; message: string; misspelt: boolean; replaces?: string }[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const guess = didYouMean(key, knownKeys(schema, issue.path));
        // An unknown key is received text: quoted at most MAX_ECHO_LENGTH characters.
        const at = echo(formatPath([...issue.path, key]));
        items.push({ path: at, message: `unknown field${guess ? ` (did you mean "${guess}"?)` : ""}`, misspelt: guess !== undefined, ...(guess && { replaces: formatPath([...issue.path, guess]) }) });
      }
    } else if (issue.code === "invalid_union" && issue.errors.length > 0 && issue.errors.flat()[0]) {
      const inner = issue.errors.flat()[0]!;
      items.push({ path: formatPath([...issue.path, ...inner.path]), message: inner.message, misspelt: false });
    } else {
      items.push({ path: formatPath(issue.path), message: issue.message, misspelt: false });
    }
  }
  if (items.length === 0) return { path: "", message: "invalid payload" };
  // A misspelt field explains the "missing" error of the field it stands for: one mistake.
  const explained = new Set(items.filter((i) => i.misspelt).map((i) => i.replaces));
  const ordered = [...items.filter((i) => i.misspelt), ...items.filter((i) => !i.misspelt && !explained.has(i.path))];
  const first = ordered[0]!;
  const rest = ordered.slice(1, MAX_LISTED).map((i) => `${i.path || "(payload)"}: ${i.message}`);
  const more = ordered.length > MAX_LISTED ? `; and ${ordered.length - MAX_LISTED} more` : "";
  return { path: first.path, message: `${first.message}${rest.length > 0 ? `; also ${rest.join("; ")}` : ""}${more}` };
}

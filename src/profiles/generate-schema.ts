/** Regenerates device-profiles/schema.json from the zod schema: `npx tsx src/profiles/generate-schema.ts`. */
import { writeFileSync } from "node:fs";
import { deviceProfileJsonSchema } from "./schema.js";

export function profileSchemaText(): string {
  return `${JSON.stringify(deviceProfileJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  writeFileSync(new URL("../../device-profiles/schema.json", import.meta.url), profileSchemaText());
}

/**
 * `lockbridge api token [--rotate] [--url]`: prints the installer token (the file is the hub's
 * user's only), or with --url the console's address with the token in its fragment (the page
 * reads it once and drops it from the address bar; a fragment is never sent to a server).
 * --rotate makes a new token: through the running hub (its rotate-token action, so the hub stops
 * accepting the old one at once and ends the streams opened with it), or, when no hub answers,
 * by rewriting the token file (the hub reads it when it starts).
 */
import { actionResponseSchema } from "../api/schemas.js";
import { rotateToken } from "../api/auth.js";
import { tokenFileOf } from "../api/service.js";
import { loadConfig } from "../config/index.js";
import { LockBridgeError } from "../shared/errors.js";
import { ApiClient } from "./api-client.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { outOf, type Out } from "./output.js";
import { CliUsageError, parseCli } from "./property-commands.js";

export async function apiCommand(args: string[], out: Out = outOf(process.stdout), err: Out = outOf(process.stderr)): Promise<ExitCode> {
  const [sub, ...rest] = args;
  if (sub !== "token") throw new CliUsageError(`api: expected "token", got ${sub === undefined ? "nothing" : `"${sub}"`}`);
  const { values } = parseCli("api token", rest, { rotate: { type: "boolean" }, url: { type: "boolean" } });
  const config = loadConfig({ file: typeof values.config === "string" ? values.config : undefined, env: process.env });
  const api = ApiClient.fromConfig(config);
  let token: string;
  if (values.rotate) {
    let res: Response | undefined;
    try {
      res = await api.raw("/api/actions/rotate-token", { method: "POST", body: {} });
    } catch {
      res = undefined; // no hub running: rotate the file itself
    }
    if (res !== undefined) {
      const response = actionResponseSchema.parse(await res.json().catch(() => ({})));
      if (!response.ok) throw new LockBridgeError("unauthorized", `the hub refused to rotate the token: ${response.error.message} (${response.error.code})`);
      token = String(response.result.token);
      err.write("new installer token in use; the old one no longer works\n");
    } else {
      token = rotateToken(tokenFileOf(config));
      err.write(`new installer token written to ${tokenFileOf(config)}; the hub uses it from its next start\n`);
    }
  } else {
    token = api.token(true)!;
  }
  out.write(values.url ? `${api.url}/console#token=${token}\n` : `${token}\n`);
  return EXIT.ok;
}

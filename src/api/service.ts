/**
 * The local API as a hub service. Listens on config api.bind:api.port; a port already taken
 * is logged and the hub runs on without its API (locks keep working; `lockbridge doctor`
 * names it). Writes <dataDir>/api.json ({url}) so the CLI finds the API on any port.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { loadOrCreateToken, TOKEN_FILE } from "./auth.js";
import type { HubView } from "./hub-view.js";
import { ApiServer } from "./server.js";

export const API_ENDPOINT_FILE = "api.json";
export const INSTALLER_LOG_FILE = "installer-actions.jsonl";

export function tokenFileOf(config: HubView["config"]): string {
  return config.api.tokenFile ?? join(config.dataDir, TOKEN_FILE);
}

export interface ApiService {
  readonly name: "local-api";
  /** The bound URL once started (undefined when not listening). */
  readonly url: string | undefined;
  readonly server: ApiServer | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createApiService(hub: HubView, log: Logger): ApiService {
  let server: ApiServer | undefined;
  let url: string | undefined;
  const endpointFile = join(hub.config.dataDir, API_ENDPOINT_FILE);
  return {
    name: "local-api",
    get url() {
      return url;
    },
    get server() {
      return server;
    },
    async start() {
      const { api } = hub.config;
      const tokenFile = tokenFileOf(hub.config);
      const { token, created, tightened } = loadOrCreateToken(tokenFile);
      if (created) log.info({ tokenFile }, "installer token created");
      if (tightened) log.warn({ tokenFile }, "installer token file was readable by others: now 0600");
      const s = new ApiServer({ hub, log, policy: { token, allowedHosts: api.allowedHosts }, installerLogFile: join(hub.config.dataDir, INSTALLER_LOG_FILE), tokenFile });
      try {
        url = await s.listen(api.bind, api.port);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EADDRINUSE") throw e;
        log.error({ bind: api.bind, port: api.port }, `local API not started: port ${api.port} is already in use (set api.port or LOCKBRIDGE_API_PORT); the hub runs without it`);
        return;
      }
      server = s;
      s.attach();
      writeFileSync(endpointFile, `${JSON.stringify({ url, pid: process.pid })}\n`, { mode: 0o600 });
      log.info({ url, tokenRequired: api.bind !== "127.0.0.1" && api.bind !== "::1" ? "always" : "for actions" }, "local API listening");
    },
    async stop() {
      const s = server;
      server = undefined;
      url = undefined;
      try {
        rmSync(endpointFile, { force: true });
      } catch (e) {
        log.warn({ err: errorMessage(e) }, "could not remove the API endpoint file");
      }
      await s?.close();
    },
  };
}

/**
 * The CLI's side of the local API: finds the running hub's API (the URL it wrote to
 * <dataDir>/api.json, else the configured address), reads the installer token, and validates
 * every answer with the API's zod schemas before anything is printed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { API_ENDPOINT_FILE, tokenFileOf } from "../api/service.js";
import { apiErrorSchema } from "../api/schemas.js";
import type { Config } from "../config/index.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";

const endpointSchema = z.object({ url: z.url() });

export class ApiClient {
  private cachedToken: string | undefined;

  constructor(
    readonly url: string,
    private readonly tokenFile: string,
  ) {}

  static fromConfig(config: Config): ApiClient {
    let url: string | undefined;
    try {
      url = endpointSchema.parse(JSON.parse(readFileSync(join(config.dataDir, API_ENDPOINT_FILE), "utf8"))).url;
    } catch {
      const host = config.api.bind === "0.0.0.0" ? "127.0.0.1" : config.api.bind === "::" ? "::1" : config.api.bind;
      url = `http://${host.includes(":") ? `[${host}]` : host}:${config.api.port}`;
    }
    return new ApiClient(url.replace(/\/$/, ""), tokenFileOf(config));
  }

  /** The installer token; undefined when the file cannot be read (reads work without it on loopback). */
  token(required: boolean): string | undefined {
    if (this.cachedToken !== undefined) return this.cachedToken;
    try {
      this.cachedToken = readFileSync(this.tokenFile, "utf8").trim();
      return this.cachedToken;
    } catch (e) {
      if (!required) return undefined;
      const code = (e as NodeJS.ErrnoException).code;
      throw new LockBridgeError(
        "unauthorized",
        code === "EACCES"
          ? `cannot read the installer token ${this.tokenFile}: permission denied (run as the hub's user: sudo -u lockbridge lockbridge ..., or with sudo)`
          : `cannot read the installer token ${this.tokenFile}: ${code === "ENOENT" ? "no such file (has the hub started once with this data dir?)" : errorMessage(e)}`,
      );
    }
  }

  private headers(action: boolean, extra: Record<string, string> = {}): Record<string, string> {
    const token = this.token(action);
    return { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...extra };
  }

  async raw(path: string, init: { method?: "GET" | "POST"; body?: unknown; accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
    const action = init.method === "POST";
    try {
      return await fetch(`${this.url}${path}`, {
        method: init.method ?? "GET",
        headers: this.headers(action, { ...(action && { "content-type": "application/json" }), ...(init.accept !== undefined && { accept: init.accept }) }),
        ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
        ...(init.signal && { signal: init.signal }),
      });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      const detail = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = detail?.code ?? detail?.message;
      throw new LockBridgeError(
        "internal",
        cause === "ECONNREFUSED"
          ? `no hub answers at ${this.url} (is it running? systemctl status lockbridge; its local API may be disabled or on another port: api.port)`
          : `cannot reach the hub at ${this.url}: ${cause ?? errorMessage(e)}`,
      );
    }
  }

  /** GET and validate. A non-2xx answer becomes an error with the API's message. */
  async get<S extends z.ZodType>(path: string, schema: S, okStatuses: number[] = []): Promise<z.output<S>> {
    const res = await this.raw(path);
    return this.parse(res, schema, okStatuses);
  }

  async post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.parse(await this.raw(path, { method: "POST", body }), schema, []);
  }

  /** POST an action and hand each progress step to `onStep` as it arrives (NDJSON). */
  async action<S extends z.ZodType>(path: string, body: unknown, schema: S, onStep: (text: string) => void): Promise<z.output<S>> {
    const res = await this.raw(path, { method: "POST", body, accept: "application/x-ndjson" });
    if (!res.ok || !(res.headers.get("content-type") ?? "").includes("ndjson")) return this.parse(res, schema, []);
    let final: unknown;
    for await (const line of lines(res)) {
      const msg = z.union([z.object({ step: z.string() }), z.object({ response: z.unknown() })]).parse(JSON.parse(line));
      if ("step" in msg) onStep(msg.step);
      else final = msg.response;
    }
    if (final === undefined) throw new LockBridgeError("internal", "the hub closed the connection before answering (did it stop?)");
    return schema.parse(final);
  }

  private async parse<S extends z.ZodType>(res: Response, schema: S, okStatuses: number[]): Promise<z.output<S>> {
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new LockBridgeError("internal", `the hub answered HTTP ${res.status} with something that is not JSON`);
    }
    if (!res.ok && !okStatuses.includes(res.status)) {
      const err = apiErrorSchema.safeParse(json);
      throw new LockBridgeError("internal", err.success ? `${err.data.error.message} (${err.data.error.code})` : `the hub answered HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new LockBridgeError("internal", `unexpected answer from the hub (${parsed.error.issues[0]?.path.join(".") ?? ""}: ${parsed.error.issues[0]?.message ?? ""}): is the CLI the same version as the hub?`);
    return parsed.data;
  }
}

/** The lines of a streamed body, as they arrive. */
export async function* lines(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim() !== "") yield line;
    }
  }
  if (buffer.trim() !== "") yield buffer;
}

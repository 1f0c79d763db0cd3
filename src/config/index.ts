export { configSchema, type Config, type ConfigInput, HUB_ID_PATTERN } from "./schema.js";
export { loadConfig, ConfigError, ENV_OVERRIDES, DEMO_HUB_ID, defaultHubId, packageRoot, type ConfigIssue, type LoadConfigOptions } from "./load.js";
export { redactConfig, displayUrl, brokerUrl } from "./present.js";

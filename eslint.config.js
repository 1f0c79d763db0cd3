// One linter for the whole tree. Type-aware rules catch floating promises; per-folder
// import restrictions keep the pure domain free of I/O (dependencies point inward).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ioModules = [
  "node:fs", "node:fs/promises", "node:net", "node:child_process", "node:dgram", "node:http",
  "fs", "net", "child_process",
  "serialport", "@serialport/*", "@abandonware/noble", "mqtt", "aedes", "better-sqlite3", "pino",
];

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
    },
  },
  {
    files: ["bin/**/*.js", "eslint.config.js", "bench/support/memory-probe.mjs", "bench/support/commit-probe.mjs", "bench/support/commit-summary.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The console runs in the browser: plain JS, no type information, browser globals.
    files: ["src/api/console/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: null }, globals: { CSS: "readonly", URL: "readonly", window: "readonly", document: "readonly", location: "readonly", history: "readonly", sessionStorage: "readonly", fetch: "readonly", TextDecoderStream: "readonly", URLSearchParams: "readonly", Blob: "readonly", performance: "readonly", requestAnimationFrame: "readonly" } },
  },
  {
    // The hub never depends on the simulator.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/sim/**", "../../sim/*"], message: "src/ must not import sim/" }] }],
    },
  },
  {
    // Only the store speaks SQL: every other module goes through its typed repositories.
    files: ["src/**/*.ts"],
    ignores: ["src/store/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/sim/**", "../../sim/*"], message: "src/ must not import sim/" }, { group: ["better-sqlite3"], message: "only src/store/ imports better-sqlite3: use the store's repositories" }] }],
    },
  },
  {
    // The pure core: protocol codec, access rules, diagnosis. No I/O, no logging, no sim.
    files: ["src/protocol/**/*.ts", "src/access/**/*.ts", "src/diagnosis/**/*.ts", "src/shared/**/*.ts"],
    ignores: ["src/shared/logger.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/sim/**"], message: "src/ must not import sim/" }, { group: ioModules, message: "the pure core imports no I/O: take it as an interface" }] }],
    },
  },
);

import { z } from "zod";
import { EngineId } from "./primitives.js";

/**
 * What each built-in engine needs on a host: the program a factory looks up on PATH, how to ask
 * it its version, and the environment a user sets for it (API key, base URL of the model API).
 * Data only: the factory's adapters (apps/factory/src/engines) run them; `gf engines` reports
 * them. `versionTested` is the release the factory's contract tests run (its dev dependency).
 */
export const EngineRequirements = z.object({
  id: EngineId,
  binary: z.string(),
  versionArgs: z.array(z.string()),
  /** npm or PyPI package that brings the binary. */
  install: z.string().optional(),
  apiKeyEnv: z.array(z.string()),
  baseUrlEnv: z.array(z.string()),
  versionTested: z.string().optional(),
  notes: z.string().optional(),
});
export type EngineRequirements = z.infer<typeof EngineRequirements>;

export const ENGINE_REQUIREMENTS: readonly EngineRequirements[] = [
  {
    id: "shell",
    binary: "bash",
    versionArgs: ["--version"],
    apiKeyEnv: [],
    baseUrlEnv: [],
    notes: "runs the job body as a bash script",
  },
  {
    id: "claude-code",
    binary: "claude",
    versionArgs: ["--version"],
    install: "npm: @anthropic-ai/claude-code",
    apiKeyEnv: ["ANTHROPIC_API_KEY"],
    baseUrlEnv: ["ANTHROPIC_BASE_URL"],
    versionTested: "2.1.328",
    notes: "refuses to skip permission prompts as root: needs the sandbox's user namespace or a non-root factory",
  },
  {
    id: "codex",
    binary: "codex",
    versionArgs: ["--version"],
    install: "npm: @openai/codex",
    apiKeyEnv: ["OPENAI_API_KEY", "CODEX_API_KEY"],
    baseUrlEnv: ["OPENAI_BASE_URL"],
    versionTested: "0.169.0",
    notes: "another model API: a [model_providers] entry with base_url in ~/.codex/config.toml",
  },
  {
    id: "aider",
    binary: "aider",
    versionArgs: ["--version"],
    install: "PyPI: aider-chat",
    apiKeyEnv: ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"],
    baseUrlEnv: ["OPENAI_API_BASE"],
    versionTested: "0.86.2",
    notes: "Python: its interpreter and libraries must be on PATH's folders to run in the sandbox",
  },
];

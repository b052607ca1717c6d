export { aiderArgs, aiderEngine } from "./aider.js";
export { createAiderParser, parseAiderOutput, parseTokenAmount } from "./aider.parse.js";
export { claudeCodeEngine, claudeCodeInvocation } from "./claude-code.js";
export { createClaudeCodeParser, parseClaudeCodeOutput } from "./claude-code.parse.js";
export { codexEngine, codexInvocation } from "./codex.js";
export { type CodexParserOptions, createCodexParser, parseCodexOutput } from "./codex.parse.js";
export { estimateCodexCost } from "./codex.prices.js";
export type { Engine, EngineContext, EngineEvent, EngineResult, EngineRun } from "./engine.js";
export { failedRun, type StartRunOptions, startEngineRun } from "./engine-run.js";
export type { OutputParser, ParsedOutput } from "./output-parser.js";
export {
  type GroupExit,
  type GroupProcess,
  isGroupAlive,
  killGroup,
  type OutputLine,
  type SpawnGroupOptions,
  spawnGroup,
} from "./process.js";
export type { Invocation } from "./prompt.js";
export { builtInEngines, detectAvailableEngines, engineFor } from "./registry.js";
export { createShellParser, shellEngine } from "./shell.js";

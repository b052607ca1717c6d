import type { Attributes } from "@opentelemetry/api";
import type { EngineResult } from "../engines/engine.js";

/**
 * An engine run's span attributes under the OpenTelemetry GenAI semantic conventions
 * (`gen_ai.*`: operation, agent, model, token usage); cost and outcome under `gf.*`.
 */
export function engineSpanAttributes(engineId: string, result: EngineResult): Attributes {
  const { insights } = result;
  const attributes: Attributes = {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": engineId,
    "gf.engine.outcome": result.outcome,
  };
  if (insights?.model) {
    attributes["gen_ai.request.model"] = insights.model;
    attributes["gen_ai.response.model"] = insights.model;
  }
  if (insights?.tokensIn !== undefined) attributes["gen_ai.usage.input_tokens"] = insights.tokensIn;
  if (insights?.tokensOut !== undefined) attributes["gen_ai.usage.output_tokens"] = insights.tokensOut;
  if (insights?.tokensCached !== undefined) attributes["gen_ai.usage.cache_read.input_tokens"] = insights.tokensCached;
  if (insights?.costUsd !== undefined) attributes["gf.cost_usd"] = insights.costUsd;
  return attributes;
}

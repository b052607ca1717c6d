// Codex reports tokens but not cost, so cost is estimated from list prices (USD per million
// tokens, standard tier) as published on https://developers.openai.com/api/docs/pricing
// (cross-checked against https://fernando-nog.netlify.app/gpt-coding-model-costs-2026/).
// Unknown models get no cost rather than a guess. Update this table when prices change.

interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

const PRICES: Record<string, Price> = {
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5.1-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5.1-codex-max": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5.1-codex-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5.2": { input: 1.75, cachedInput: 0.175, output: 14 },
  "gpt-5.2-codex": { input: 1.75, cachedInput: 0.175, output: 14 },
  "gpt-5.3-codex": { input: 1.75, cachedInput: 0.175, output: 14 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
};

export interface TokenCounts {
  /** Uncached prompt tokens. */
  input: number;
  cachedInput: number;
  output: number;
}

/** Estimated USD cost, or undefined for a model not in the table. */
export function estimateCodexCost(model: string | undefined, tokens: TokenCounts): number | undefined {
  if (model === undefined) return undefined;
  const price = PRICES[model.replace(/^openai\//, "")];
  if (price === undefined) return undefined;
  const usd =
    (tokens.input * price.input + tokens.cachedInput * price.cachedInput + tokens.output * price.output) / 1_000_000;
  return Math.round(usd * 1e6) / 1e6;
}

import type { Env } from "../../env.js";
import type { TrackerOptions } from "../../options.js";
import type { GitHubWebhookConfig } from "./github-webhook.js";
import { GitHubAdapter } from "./github.adapter.js";
import { ItemsAdapter } from "./items.adapter.js";
import type { TrackerAdapter } from "./tracker-adapter.js";

/** The trackers this coordinator talks to and how its webhook route checks deliveries. */
export interface TrackerSetup {
  adapters: TrackerAdapter[];
  /** Adapters the polling safety net lists (GitHub when `GF_GITHUB_REPOS` names repositories). */
  polled: TrackerAdapter[];
  webhook: GitHubWebhookConfig;
  dashboardUrl: string | undefined;
}

/** Adapters from the environment: GitHub always (public API by default), Items when its URL is set. */
export function trackerSetup(env: Env, options: TrackerOptions): TrackerSetup {
  const github = new GitHubAdapter({
    token: env.GF_GITHUB_TOKEN,
    apiUrl: env.GF_GITHUB_API_URL,
    triggerLabel: env.GF_GITHUB_TRIGGER_LABEL,
    repos: env.GF_GITHUB_REPOS,
    closeOnDone: env.GF_GITHUB_CLOSE_ON_DONE,
  });
  const adapters: TrackerAdapter[] = [github];
  if (env.GF_ITEMS_API_URL)
    adapters.push(
      new ItemsAdapter({
        apiUrl: env.GF_ITEMS_API_URL,
        token: env.GF_ITEMS_TOKEN,
        timeoutMs: options.requestTimeoutMs,
        triggerLabel: env.GF_GITHUB_TRIGGER_LABEL,
      }),
    );
  return {
    adapters,
    polled: env.GF_GITHUB_REPOS.length ? [github] : [],
    webhook: {
      secret: env.GF_GITHUB_WEBHOOK_SECRET,
      triggerLabel: env.GF_GITHUB_TRIGGER_LABEL,
      botLogin: env.GF_GITHUB_BOT_LOGIN,
      productId: env.GF_GITHUB_PRODUCT ?? env.GF_DEFAULT_PRODUCT,
      maxBytes: options.webhookMaxBytes,
    },
    dashboardUrl: env.GF_DASHBOARD_URL,
  };
}

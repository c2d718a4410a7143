import type { Action } from './definition.js';
import { publicContext, type ActionHandler, type ActionInput } from './runner.js';
import { sendWebhook } from './webhook.js';

/**
 * What a webhook step posts: the Standard Webhooks envelope (`type`, `timestamp`, `data`) with
 * the automation, the step, and the person as the receiver needs them to act (a user id to look
 * up, the traits, what the trigger carried).
 */
export function webhookPayload(input: ActionInput) {
  const { run, automation, profile, now } = input;
  return {
    type: 'automation.step',
    timestamp: new Date(now).toISOString(),
    data: {
      automation: { id: automation.id, name: automation.name },
      run: { id: run.id, position: run.position, startedAt: new Date(run.startedAt).toISOString() },
      profile: { id: profile.id, userId: profile.userId, traits: profile.traits },
      context: publicContext(run.context),
    },
  };
}

/**
 * The webhook action: one signed attempt under the step's idempotency key, its outcome mapped
 * for the runner (which schedules the retries).
 *
 * @example
 * new Runner({ ..., actions: { webhook: webhookAction() } });
 */
export function webhookAction(options: { timeoutMs?: number } = {}): ActionHandler {
  return async (action: Action, input: ActionInput) => {
    if (!('webhook' in action)) return { kind: 'failed', error: 'not a webhook step' };
    const { url, secret } = action.webhook;
    const outcome = await sendWebhook({ url, secret, id: input.key, payload: webhookPayload(input), timeoutMs: options.timeoutMs, now: () => input.now });
    if (outcome.kind === 'delivered') return { kind: 'done' };
    if (outcome.kind === 'retry') return { kind: 'retry', error: outcome.error, retryAfterMs: outcome.retryAfterMs };
    return { kind: 'failed', error: outcome.error };
  };
}

/** The reactors every run gets, plus one webhook reactor per endpoint of the matrix's `events.webhooks`. */
import type { Reactor, ReactorContext } from '../reactor.js';
import { exitNonzeroReactor } from './exit-nonzero.js';
import { oomReactor } from './oom.js';
import { webhookReactor, type WebhookConfig } from './webhook.js';

export function builtInReactors(ctx: ReactorContext, webhooks: readonly WebhookConfig[] = []): Reactor[] {
  return [exitNonzeroReactor(ctx), oomReactor(ctx), ...webhooks.map((w) => webhookReactor(ctx, w))];
}

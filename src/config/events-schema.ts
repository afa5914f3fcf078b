/**
 * The matrix's `events:` block: what benchyard does with the Docker events of its
 * containers beyond recording them. Wired into `matrixSchema` as `events: eventsConfig.optional()`.
 */
import { z } from 'zod';
import { LIFECYCLE_ACTIONS } from '../events/model.js';

/** Container actions a webhook can ask for (Docker's names). */
export const WEBHOOK_ACTIONS = LIFECYCLE_ACTIONS;

const webhook = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .describe('Each event is POSTed here as JSON; the URL is treated as a secret and never logged'),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
      z.string().regex(/^[^\r\n]*$/, 'must be one line'),
    )
    .optional()
    .describe(
      'Sent with every request (e.g. Authorization); values of secret-looking headers are never logged',
    ),
  on: z
    .array(z.enum(WEBHOOK_ACTIONS))
    .min(1)
    .optional()
    .describe('Container actions to send (default: die, oom)'),
  retries: z
    .int()
    .min(0)
    .max(10)
    .default(3)
    .describe('Attempts after the first on network errors, 408, 429 and 5xx (other answers are final)'),
});

export const eventsConfig = z.strictObject({
  webhooks: z.array(webhook).max(16).default([]).describe('HTTP endpoints told about container events'),
});

export type EventsConfig = z.output<typeof eventsConfig>;
export type WebhookSettings = z.output<typeof webhook>;

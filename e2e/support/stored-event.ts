/** An event as the admin API shows it (`GET /api/events`). */
export interface StoredEvent {
  messageId: string;
  profileId: string;
  type: string;
  event: string | null;
  name: string | null;
  anonymousId: string | null;
  userId: string | null;
  properties: Record<string, unknown> | null;
  traits: Record<string, unknown> | null;
  context: Record<string, any> | null;
  /** What the server derived: device, IP, referral of the page. */
  enrichment: { referral: Record<string, unknown> | null; [key: string]: unknown };
  /** Every other field the sender sent (previousId, groupId, ...). */
  extra: Record<string, unknown>;
  timestamp: string;
  receivedAt: string;
}

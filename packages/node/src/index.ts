export { createRapport } from './client.js';
export type { DecideInput, IdentifyInput, MessageFields, PageInput, RapportClient, RapportNodeOptions, RedirectInput, TrackInput, Who } from './client.js';
export type { FlushResult } from './delivery.js';
export { ID_COOKIE, visitorId } from './cookie.js';
export type { CookieOptions, VisitorId } from './cookie.js';
export { escapeHtml, renderOffer, renderSlot } from './render.js';
export type { RenderSlotOptions } from './render.js';
export { rapportProxy } from './proxy.js';
export type { ProxyOptions, RapportProxy } from './proxy.js';

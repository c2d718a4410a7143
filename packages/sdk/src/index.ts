export { createRapport } from './rapport';
export { createCore } from './core';
export { CAPTURE_EVENTS, capture } from './capture';
export { renderOffer, slots } from './slots';
export { VERSION } from './version';
export * as policy from './policy';
export type { Core, DeliveryError, IdentifyOptions, Module, Rapport, RapportOptions } from './types';

export * from './messages.js';
export * from './limits.js';
export * from './campaign.js';
export * from './decide.js';
export * from './errors.js';
export * from './first-party.js';

export { createApp, type App, type AppOptions } from './app.js';
export { SiteDirectory } from './sites/directory.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export { ingest } from './collect/pipeline.js';
export type { Store } from './store/store.js';
export type * from './store/types.js';
export { userHashOf, verifyUserHash } from './identity/verify.js';
export { startServer, type RunningServer, type ServerConfig } from './server.js';

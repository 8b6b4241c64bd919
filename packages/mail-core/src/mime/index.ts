export { assertSafeHeaders } from './assertSafeHeaders';
export { buildMime, type BuiltMime, type BuildMimeOptions } from './buildMime';
export { composeOptions, envelopeOf, type Envelope } from './composeOptions';
export { ensureMessageId, generateMessageId, normalizeMessageId, senderDomain } from './messageId';

export {
  startFakeSendGrid,
  FAKE_SENDGRID_KEYS,
  type FakeSendGrid,
  type FakeSendGridFailure,
  type FakeSendGridKey,
  type FakeSendGridLog,
  type FakeSendGridOptions,
  type FakeSendGridRequest,
} from './fakeSendGrid';
export { validateMailSend, SENDGRID_RESERVED_HEADERS, DEFAULT_LIMITS as SENDGRID_LIMITS, type SendGridError, type SchemaLimits } from './mailSendSchema';
export { renderPersonalization, type AcceptedMailSend, type RenderedMessage } from './renderMime';

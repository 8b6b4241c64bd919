export {
  assertSendGridConfig,
  sendGridBaseUrl,
  SENDGRID_BASE_URL,
  SENDGRID_MAX_CATEGORIES,
  SENDGRID_MAX_RECIPIENTS_PER_REQUEST,
  type SendGridAccountConfig,
} from './sendgridConfig';
export { MAIL_SEND_HINT, parseSendGridErrors, sendGridHttpError, type SendGridErrorItem } from './sendgridErrors';
export {
  planMailSend,
  OUTBOX_CUSTOM_ARG,
  SENDGRID_RESERVED_HEADERS,
  type SgAddress,
  type SgAttachment,
  type SgMailSendBody,
  type SgPersonalization,
  type SgRequestPlan,
} from './sendgridPayload';
export {
  SendGridTransport,
  createSendGridTransport,
  type SendGridFailedPart,
  type SendGridKeyStatus,
  type SendGridRequestResult,
  type SendGridRetryOptions,
  type SendGridSendOptions,
  type SendGridSendResult,
  type SendGridTransportOptions,
} from './sendgridTransport';
export { testSendGridConnection, type SendGridConnectionStep, type SendGridConnectionTestResult } from './sendgridConnection';

export {
  assertSesConfig,
  sesEndpointHost,
  sesHeaderMessageId,
  sesMessageIdDomain,
  SES_MAX_RECIPIENTS_PER_MESSAGE,
  type SesAccountConfig,
} from './sesConfig';
export { toSesMailError, isSesThrottle, type SesErrorContext } from './sesErrors';
export {
  SesTransport,
  createSesTransport,
  type SesAccountStatus,
  type SesDelivery,
  type SesFailedPart,
  type SesRetryOptions,
  type SesSendOptions,
  type SesSendResult,
  type SesTransportOptions,
} from './sesTransport';
export { testSesConnection, type SesConnectionStep, type SesConnectionTestResult } from './sesConnection';

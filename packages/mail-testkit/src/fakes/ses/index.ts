export {
  startFakeSes,
  FAKE_SES_CREDENTIALS,
  type FakeSes,
  type FakeSesFailure,
  type FakeSesMessage,
  type FakeSesOptions,
  type FakeSesRequestLog,
} from './fakeSes';
export {
  verifySigV4,
  deriveSigningKey,
  buildCanonicalRequest,
  buildStringToSign,
  signString,
  canonicalUri,
  canonicalQuery,
  parseAuthorization,
  formatAmzDate,
  parseAmzDate,
  SIGV4_ALGORITHM,
  type SigV4Credential,
  type SigV4Expectation,
  type SigV4Request,
  type SigV4Result,
} from './sigv4';
export { parseRawHeaders, headerAddresses, replaceMessageId, type RawHeaders } from './rawMessage';

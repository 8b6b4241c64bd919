/**
 * Fake Microsoft 365 (Entra ID + Graph v1.0 mail) for tests and the demo. Names are prefixed so
 * the testkit index can re-export everything (`export * from './fakes/microsoft'`).
 */
export { startMicrosoftFake, AuthorizePageError } from './fakeMicrosoft';
export type {
  MicrosoftFake,
  MicrosoftFakeOptions,
  SeedMessage as GraphSeedMessage,
  SeedAttachment as GraphSeedAttachment,
  FailureOptions as MicrosoftFakeFailureOptions,
} from './fakeMicrosoft';
export type {
  FakeUser as MicrosoftFakeUser,
  FakeUserInit as MicrosoftFakeUserInit,
  FakeApp as MicrosoftFakeApp,
  FakeAppInit as MicrosoftFakeAppInit,
} from './directory';
export type { AuthorizeOptions as FakeAuthorizeOptions, AuthorizeResult as FakeAuthorizeResult, TokenRequestRecord as FakeTokenRequest } from './entra';
export type { GraphRequestRecord as FakeGraphRequest, SentRecord as FakeGraphSentMail, UploadRecord as FakeGraphUpload } from './graph';
export type { FakeMessage as FakeGraphMessage, FakeAttachment as FakeGraphAttachment, GraphEmailAddress } from './mailbox';
export { makeTestCa, makeClientCertificate, thumbprintSha256 } from './certs';
export type { TestCa, ClientCertificate as TestClientCertificate } from './certs';
export { parseMime } from './mimeParse';
export type { ParsedMime, MimeAddress, MimeAttachment } from './mimeParse';

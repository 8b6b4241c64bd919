export { SmtpTransport, poolOptions, queueIdOf, securityOptions, type SmtpTransportConfig } from './smtpTransport';
export { SmtpWorkerTransport } from './smtpWorkerTransport';

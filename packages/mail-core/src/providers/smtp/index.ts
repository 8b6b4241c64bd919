export { SmtpTransport, poolOptions, queueIdOf, securityOptions, type SmtpTransportConfig } from './smtpTransport';

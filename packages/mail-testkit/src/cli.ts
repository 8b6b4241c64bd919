#!/usr/bin/env node
/*
 * The demo mailbox: a dovecot with the user demo@localhost / demo and an SMTP sink that delivers into it.
 *   node packages/mail-testkit/dist/cli.js [--dir <path>] [--imap-port <n>] [--smtp-port <n>] [--seed <n>] [--tls] [--json]
 * --dir keeps the mailbox between runs (default: a temp dir, removed on exit); --json prints one JSON line for scripts.
 */
import { startDovecot, type Dovecot } from './dovecot';
import { makeMessage } from './message';
import { seedMaildir } from './seed';
import { startSmtpSink, type SmtpSink } from './smtpSink';

const DEMO_USER = { user: 'demo@localhost', password: 'demo' };

interface CliOptions {
  dir?: string;
  imapPort?: number;
  smtpPort?: number;
  seed: number;
  tls: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const opts: CliOptions = { seed: 0, tls: false, json: false };
  const number = (flag: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got "${value ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--dir':
        opts.dir = argv[++i];
        if (!opts.dir) throw new Error('--dir needs a path');
        break;
      case '--imap-port':
        opts.imapPort = number(flag, argv[++i]);
        break;
      case '--smtp-port':
        opts.smtpPort = number(flag, argv[++i]);
        break;
      case '--seed':
        opts.seed = number(flag, argv[++i]);
        break;
      case '--tls':
        opts.tls = true;
        break;
      case '--json':
        opts.json = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(
          'usage: mail-testkit [--dir <path>] [--imap-port <n>] [--smtp-port <n>] [--seed <n>] [--tls] [--json]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag} (try --help)`);
    }
  }
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let dovecot: Dovecot | undefined;
  let sink: SmtpSink | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without cleanup\n`);
      process.exit(1);
    }
    stopping = true;
    if (!opts.json) process.stdout.write(`\n${signal}: stopping the demo mailbox…\n`);
    await sink?.close().catch(() => undefined);
    await dovecot?.destroy().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  dovecot = await startDovecot({ users: [DEMO_USER], dir: opts.dir, imapPort: opts.imapPort, tls: opts.tls });
  try {
    sink = await startSmtpSink({ port: opts.smtpPort, users: [DEMO_USER], dovecot });
    if (opts.seed > 0) {
      const messages = Array.from({ length: opts.seed }, (_, i) => makeMessage(i, { to: DEMO_USER.user }));
      await seedMaildir(dovecot, DEMO_USER.user, 'INBOX', messages);
    }
  } catch (err) {
    await sink?.close();
    await dovecot.destroy();
    throw err;
  }

  const info = {
    user: DEMO_USER.user,
    password: DEMO_USER.password,
    host: dovecot.host,
    imapPort: dovecot.imapPort,
    ...(dovecot.imapsPort ? { imapsPort: dovecot.imapsPort } : {}),
    smtpPort: sink.port,
    lmtpPort: dovecot.lmtpPort,
    dir: dovecot.dir,
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(info) + '\n');
    return;
  }
  process.stdout.write(
    [
      'Mailbridge demo mailbox is running.',
      `  user   ${info.user}  password ${info.password}`,
      `  IMAP   ${info.host}:${info.imapPort}  (no TLS, AUTH PLAIN/LOGIN)`,
      ...(dovecot.imapsPort ? [`  IMAPS  ${info.host}:${dovecot.imapsPort}  (self-signed certificate)`] : []),
      `  SMTP   ${info.host}:${info.smtpPort}  (no TLS, AUTH required; delivers to ${info.user} only, 550 for others)`,
      `  LMTP   ${info.host}:${info.lmtpPort}`,
      `  data   ${info.dir}${opts.dir ? '' : '  (removed on exit)'}`,
      'Ctrl+C stops it.',
      '',
    ].join('\n'),
  );
}

main().catch((err: Error) => {
  process.stderr.write(`mail-testkit: ${err.message}\n`);
  process.exit(1);
});

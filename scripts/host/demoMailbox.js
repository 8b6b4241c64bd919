const path = require('path');
const fs = require('fs');

// The demo mailbox of `npm start`: dovecot (IMAP, LMTP) and an SMTP sink from packages/mail-testkit, with the user
// demo@localhost / demo, kept under storage/demo-mail so its mail survives restarts. On the first run a demo
// SMTP/IMAP account is created in the app and a few welcome mails are delivered, so the inbox is not empty.
const DEMO = { user: 'demo@localhost', password: 'demo' };

function testkit(root) {
  return require(path.join(root, 'packages', 'mail-testkit', 'dist'));
}

async function startDemoMailbox(root, storage, log = console.log) {
  const kit = testkit(root);
  if (!kit.dovecotBinary()) {
    log('[mailbridge] no demo mailbox: dovecot is not installed. Install it with');
    log('             sudo apt-get install -y dovecot-imapd dovecot-lmtpd   and run npm start again.');
    return null;
  }
  const imapPort = Number(process.env.MAILBRIDGE_DEMO_IMAP_PORT || 13143);
  const smtpPort = Number(process.env.MAILBRIDGE_DEMO_SMTP_PORT || 13025);
  const dir = path.join(storage, 'demo-mail');
  fs.mkdirSync(dir, { recursive: true });
  const dovecot = await kit.startDovecot({ users: [DEMO], dir, imapPort });
  let sink;
  try {
    sink = await kit.startSmtpSink({ port: smtpPort, users: [DEMO], dovecot });
  } catch (err) {
    await dovecot.stop().catch(() => undefined);
    throw new Error(`the demo SMTP port ${smtpPort} is taken (set MAILBRIDGE_DEMO_SMTP_PORT): ${err.message}`);
  }
  log(`[mailbridge] demo mailbox ${DEMO.user} / ${DEMO.password}: IMAP 127.0.0.1:${imapPort}, SMTP 127.0.0.1:${smtpPort}`);
  return {
    dovecot,
    sink,
    async stop() {
      await sink.close().catch(() => undefined);
      await dovecot.stop().catch(() => undefined);
    },
  };
}

async function api(url, token, action, body) {
  const res = await fetch(`${url}/api/${action}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Authenticator': 'basic',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${action}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json.data;
}

function welcomeMails() {
  const date = new Date();
  const mail = (i, subject, text) =>
    [
      `From: Mailbridge <hello@mailbridge.test>`,
      `To: ${DEMO.user}`,
      `Subject: ${subject}`,
      `Date: ${new Date(date.getTime() - (3 - i) * 60000).toUTCString()}`,
      `Message-ID: <welcome-${i}-${date.getTime()}@mailbridge.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      '',
    ].join('\r\n');
  return [
    mail(1, 'Willkommen bei Mailbridge', 'Dies ist das Demo-Postfach demo@localhost. Alles hier bleibt auf diesem Rechner.'),
    mail(2, 'Welcome to Mailbridge', 'This is the demo mailbox demo@localhost. Send a mail to it and watch it arrive.'),
    mail(3, 'How to connect your own mailbox', 'Settings → E-Mail → Add account: Microsoft 365, SMTP/IMAP, Amazon SES or SendGrid.'),
  ];
}

// Creates the demo account once (a marker in storage remembers it, so deleting the account is respected).
async function ensureDemoAccount(url, env, demo, storage, log = console.log) {
  const marker = path.join(storage, '.demo-account-created');
  if (fs.existsSync(marker)) return;
  const token = (await api(url, null, 'auth:signIn', { account: env.INIT_ROOT_EMAIL, password: env.INIT_ROOT_PASSWORD })).token;
  const account = await api(url, token, 'mailAccounts:create', {
    title: 'Demo mailbox',
    provider: 'smtp-imap',
    address: DEMO.user,
    settings: {
      smtp: { host: '127.0.0.1', port: demo.sink.port, security: 'none' },
      imap: { host: '127.0.0.1', port: demo.dovecot.imapPort, security: 'none' },
      authMethod: 'password',
      appendSent: true,
      sync: { intervalSeconds: 30, initialWindowDays: 0 },
    },
    secrets: { password: DEMO.password },
  });
  for (const raw of welcomeMails()) await demo.dovecot.deliver(DEMO.user, raw);
  await api(url, token, `mailAccounts:syncNow?filterByTk=${account.id}`, {});
  fs.writeFileSync(marker, String(account.id));
  log(`[mailbridge] created the demo account ${DEMO.user} with ${welcomeMails().length} welcome mails`);
}

module.exports = { startDemoMailbox, ensureDemoAccount, DEMO };

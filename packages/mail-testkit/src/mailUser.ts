export interface MailUser {
  /** full address, e.g. 'alice@example.test' */
  user: string;
  password: string;
}

/** Lower-cases the address and refuses what a passwd-file line cannot hold. */
export function normalizeMailUser(u: MailUser): MailUser {
  const user = u.user.trim().toLowerCase();
  if (!user || /[:\s]/.test(user)) throw new Error(`invalid mail user "${u.user}": no spaces or colons allowed`);
  if (/[:\r\n]/.test(u.password)) throw new Error(`invalid password for "${u.user}": no colons or line breaks allowed`);
  return { user, password: u.password };
}

/** The address without a +detail (`agent+42@x.test` -> `agent@x.test`), lower-cased; dovecot's recipient_delimiter is '+'. */
export function baseAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  const local = at >= 0 ? lower.slice(0, at) : lower;
  const domain = at >= 0 ? lower.slice(at) : '';
  const plus = local.indexOf('+');
  return (plus >= 0 ? local.slice(0, plus) : local) + domain;
}

export function passwdFileText(users: MailUser[]): string {
  return users.map((u) => `${u.user}:{PLAIN}${u.password}\n`).join('');
}

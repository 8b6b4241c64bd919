/** A mail error as one line for people: the message, then what to do ("… — Check the password …"). */
export function mailErrorText(err: { message?: string; hint?: string }): string {
  return [err.message, err.hint].filter(Boolean).join(' — ');
}

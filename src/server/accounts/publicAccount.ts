// The shape of an account that may leave the server: the encrypted secrets column is dropped (it is a hidden
// field, so toJSON() already omits it) and replaced by a marker saying whether secrets are set.
export function toPublicAccount(model: any) {
  const { secrets: _dropped, ...rest } = model.toJSON();
  return { ...rest, secretsSet: Boolean(model.get('secrets')) };
}

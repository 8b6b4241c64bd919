import { useTranslation } from 'react-i18next';

export const NAMESPACE = '@mailbridge/plugin-mail';

export function useMailTranslation() {
  return useTranslation([NAMESPACE, 'client'], { nsMode: 'fallback' });
}

// For labels defined outside React (settings menu title): NocoBase's compiled-string form.
export function tval(key: string) {
  return `{{t(${JSON.stringify(key)}, { ns: ${JSON.stringify(NAMESPACE)} })}}`;
}

// The host app provides react-i18next 11 at run time; only the hook Mailbridge uses is declared.
declare module 'react-i18next' {
  export function useTranslation(
    ns?: string | string[],
    options?: { nsMode?: 'fallback' | 'default' },
  ): { t: (key: string, options?: Record<string, unknown>) => string; i18n: { language: string } };
}

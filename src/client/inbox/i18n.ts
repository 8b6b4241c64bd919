import { useCallback } from 'react';
import { useMailTranslation } from '../locale';

/**
 * t() for the inbox: React escapes what it renders, so i18next must not escape interpolated values too
 * ("Bob <bob@x>" would become "Bob &lt;bob@x&gt;"). Counts pick the _one/_other keys of the locale files.
 */
export function useInboxTranslation() {
  const { t, i18n } = useMailTranslation();
  const tt = useCallback(
    (key: string, vars?: Record<string, unknown>) => t(key, vars ? { ...vars, interpolation: { escapeValue: false } } : undefined),
    [t],
  );
  return { t: tt, i18n };
}

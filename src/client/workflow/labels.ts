import { NAMESPACE } from '../locale';

// Instruction and trigger titles are compiled by the workflow canvas ("{{t(...)}}"), translated lazily in our
// namespace with the host's own strings as fallback.
export function lazyT(key: string): string {
  return `{{t(${JSON.stringify(key)}, { ns: [${JSON.stringify(NAMESPACE)}, "workflow", "client"], nsMode: "fallback" })}}`;
}

// Minimal declarations for the parts of @nocobase/client 2.2 that Mailbridge uses. The real package cannot be
// installed here (it depends on unpublished packages); the host app provides it at run time as an AMD module.
declare module '@nocobase/client' {
  import type { ComponentType } from 'react';

  export interface PluginSettingOptions {
    title: string;
    icon?: string;
    Component?: ComponentType<any>;
    aclSnippet?: string;
    sort?: number;
  }

  export interface Application {
    pluginSettingsManager: { add(name: string, options: PluginSettingOptions): void };
    i18n: { t(key: string, options?: Record<string, unknown>): string };
  }

  export class Plugin {
    app: Application;
    options: Record<string, unknown>;
    t(text: string, options?: Record<string, unknown>): string;
    afterAdd(): Promise<void>;
    beforeLoad(): Promise<void>;
    load(): Promise<void>;
  }

  export interface ApiResponse<T = any> {
    data: { data: T; meta?: { count: number; page: number; pageSize: number; totalPage: number } };
  }

  export interface ApiRequestConfig {
    url: string;
    method?: 'get' | 'post' | 'put' | 'patch' | 'delete';
    params?: Record<string, unknown>;
    data?: unknown;
    /** true: the host's global error notification stays quiet, the caller shows the error itself */
    skipNotify?: boolean | ((error: unknown) => boolean);
  }

  export interface APIClient {
    request<T = any>(config: ApiRequestConfig): Promise<ApiResponse<T>>;
    resource(name: string): Record<string, (params?: any) => Promise<ApiResponse>>;
  }

  export function useAPIClient(): APIClient;
}

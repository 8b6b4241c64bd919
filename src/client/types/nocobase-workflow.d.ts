// Minimal declarations for the parts of NocoBase's workflow client (2.2) that Mailbridge's workflow node and
// trigger use. The host provides both modules at run time (requirejs): `@nocobase/plugin-workflow/client` is the
// legacy canvas' plugin, `@nocobase/plugin-workflow/client-v2` holds the shared Instruction/Trigger contract and
// the antd-form variable inputs that the legacy canvas renders for a `FieldsetLoader`.
declare module '@nocobase/plugin-workflow/client-v2' {
  import type { ComponentType, CSSProperties, ReactNode } from 'react';

  export type LoaderOf<P = {}> = () => Promise<{ default: ComponentType<P> }>;

  export interface VariableOption {
    key?: string;
    value?: string;
    label?: ReactNode;
    children?: VariableOption[] | null;
    [key: string]: any;
  }

  export interface UseVariableOptions {
    types?: any[];
    fieldNames?: { label?: string; value?: string; children?: string };
    appends?: string[] | null;
    depth?: number;
  }

  export abstract class Instruction {
    title: string;
    type: string;
    group: string;
    description?: string;
    icon?: JSX.Element;
    fieldset: Record<string, any>;
    FieldsetLoader?: LoaderOf;
    testable?: boolean;
    createDefaultConfig?(): Record<string, any>;
    useVariables?(node: any, options?: UseVariableOptions): VariableOption | null;
  }

  export abstract class Trigger {
    title: string;
    description?: string;
    sync?: boolean;
    fieldset?: Record<string, any>;
    FieldsetLoader?: LoaderOf;
    PresetFieldsetLoader?: LoaderOf;
    createDefaultConfig?(): Record<string, unknown>;
    validate(config: Record<string, unknown>): boolean;
    useVariables?(config: Record<string, unknown>, options?: UseVariableOptions): VariableOption[] | null;
  }

  export interface WorkflowVariableInputProps {
    value?: string;
    onChange?: (value: string) => void;
    disabled?: boolean;
    placeholder?: string;
    className?: string;
    style?: CSSProperties;
    variableOptions?: UseVariableOptions;
    id?: string;
    'aria-label'?: string;
  }
  export function WorkflowVariableInput(props: WorkflowVariableInputProps): JSX.Element;

  export interface WorkflowVariableTextAreaProps {
    value?: string;
    onChange?: (value: string) => void;
    disabled?: boolean;
    placeholder?: string;
    autoSize?: boolean | { minRows?: number; maxRows?: number };
    variableOptions?: UseVariableOptions;
    id?: string;
    style?: CSSProperties;
    'aria-label'?: string;
  }
  export function WorkflowVariableTextArea(props: WorkflowVariableTextAreaProps): JSX.Element;

  export interface CanvasNode {
    id: number;
    key?: string;
    type?: string;
    title?: string;
    config?: Record<string, any>;
    [key: string]: any;
  }
  export function useNodeContext(): CanvasNode;
  export function useCurrentWorkflowContext(): Record<string, any>;
}

declare module '@nocobase/plugin-workflow/client' {
  import type { Plugin } from '@nocobase/client';
  import type { Instruction, Trigger } from '@nocobase/plugin-workflow/client-v2';

  export { Instruction, Trigger } from '@nocobase/plugin-workflow/client-v2';

  export default class PluginWorkflowClient extends Plugin {
    instructionGroups: { get(key: string): unknown } | Map<string, unknown> | any;
    registerInstruction(type: string, instruction: Instruction | { new (): Instruction }): void;
    registerTrigger(type: string, trigger: Trigger | { new (): Trigger }): void;
    registerInstructionGroup(key: string, group: { key?: string; label: string }): void;
  }
}

// What registerWorkflowNodes needs of the legacy Application (merged into the declarations of nocobase-client.d.ts).
declare module '@nocobase/client' {
  interface Application {
    pm: { get(nameOrClass: unknown): any };
  }
}

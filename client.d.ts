export * from './dist/client'; export { default } from './dist/client';

export * from './dist/server'; export { default } from './dist/server';

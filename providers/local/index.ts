export { LocalProvider, type LocalProviderOptions } from './local-provider.js';

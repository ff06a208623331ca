import { version } from '../../../package.json';

/** The package version. tsc copies package.json into dist/ with the build, so this import holds there too. */
export const TFLEET_VERSION: string = version;

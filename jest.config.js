// Tests run on the compiled output in dist/ (built by `npm run build`), so worker threads and
// child processes load exactly the JavaScript that production runs.
const tier = (displayName, testMatch, extra = {}) => ({
  displayName,
  rootDir: __dirname,
  roots: ['<rootDir>/dist'],
  testMatch,
  testEnvironment: 'node',
  ...extra,
});

module.exports = {
  projects: [
    tier('unit', ['**/*.spec.js']),
    tier('integration', ['**/*.int-spec.js'], { slowTestThreshold: 30 }),
    tier('e2e', ['**/*.e2e-spec.js'], { slowTestThreshold: 120 }),
  ],
  testTimeout: 120000,
};

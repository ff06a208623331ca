// Tests run on the compiled output in dist/ (built by `npm run build`), so worker threads and
// child processes load exactly the JavaScript that production runs.
// webgpu tests without a GPU run on Mesa's llvmpipe through EGL, which needs to be told there is
// no window system. Jest gives each test file a copy of process.env (setting it there does not
// reach the C environment Mesa reads), so it is set here, in the process that runs the tests.
if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY && process.env.EGL_PLATFORM === undefined) {
  process.env.EGL_PLATFORM = 'surfaceless';
}

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

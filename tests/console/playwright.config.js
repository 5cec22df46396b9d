// Playwright (from npm, pinned in package.json) driving Debian's chromium
// (tools/setup.sh installs both): the console's browser tests, run by ctest
// as console_playwright (tests/console/CMakeLists.txt).
const {defineConfig} = require('@playwright/test');

module.exports = defineConfig({
  testDir: __dirname,
  testMatch: /.*\.spec\.js/,
  workers: 1,  // one tallyd per file; the files share nothing, but two cores
  retries: 0,
  timeout: 120_000,
  expect: {timeout: 15_000},
  reporter: [['list']],
  outputDir: process.env.TALLY_CONSOLE_OUTPUT || 'test-results',
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {executablePath: process.env.TALLY_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox']},
    viewport: {width: 1280, height: 900},
    trace: 'retain-on-failure',
  },
});

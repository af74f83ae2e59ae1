// The JupyterLab extension template's jest set-up: @jupyterlab/testutils' config
// (ts-jest for TypeScript, babel-jest for the ES modules of node_modules, jsdom
// with fetch), tests in src/__tests__/*.spec.ts.
const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// ES modules in node_modules that babel must turn into CommonJS for jest
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: ['src/**/*.{ts,tsx}', '!src/**/*.d.ts', '!src/__tests__/**'],
  coverageReporters: ['lcov', 'text'],
  // the template's reporters minus jest-junit, which would leave junit.xml behind
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};

// Package browser holds the end-to-end tests of the frontend: the client/ kit's Node tests and
// the --demo page in Debian's headless Chromium (driven by playwright-core), against the real
// syncgate binary. It has no code of its own besides its tests.
package browser
